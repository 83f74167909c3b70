import { definePlugin, extensionPoints, type ShareMounter } from '@corral/core';
import { GlusterfsStorageDriver } from './GlusterfsStorageDriver.js';

/**
 * Builds plugin `storage-glusterfs` (storage type `glusterfs`) with its own mounter; `mounter`
 * defaults to the FUSE client. Use {@link storageGlusterfsPlugin} unless mounts are made some other way.
 */
export function createStorageGlusterfsPlugin(options: { mounter?: ShareMounter } = {}) {
  return definePlugin({
    id: 'storage-glusterfs',
    apiVersion: 3,
    register(env) {
      env.extend(extensionPoints.storageDrivers, 'glusterfs', new GlusterfsStorageDriver(options.mounter));
    },
  });
}

/**
 * Plugin `storage-glusterfs`: storage type `glusterfs`, mounted with the FUSE client.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageGlusterfsPlugin] });
 * await kernel.storage.add('gluster', 'glusterfs', { server: '10.0.0.7', server2: '10.0.0.8', volume: 'gv0', path: '/mnt/pve/gluster', content: 'images,iso' });
 * ```
 */
export const storageGlusterfsPlugin = createStorageGlusterfsPlugin();
