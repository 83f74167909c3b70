/**
 * @corral/plugin-storage-glusterfs: Proxmox's `glusterfs` storage type for Corral (a FUSE
 * mount of a Gluster volume with Proxmox's directory layout; QEMU reaches images through
 * `gluster://`).
 *
 * @packageDocumentation
 */
export { storageGlusterfsPlugin, createStorageGlusterfsPlugin } from './storageGlusterfsPlugin.js';
export { GlusterfsStorageDriver } from './GlusterfsStorageDriver.js';
export { GlusterfsMounter } from './GlusterfsMounter.js';
export { GLUSTERFS_SHARE_TYPE, GLUSTERFS_STORAGE_INFO } from './glusterfsShareType.js';
export { glusterfsOptionsSchema, glusterfsSpec, checkGlusterfsDefinition, GLUSTER_TRANSPORTS, type GlusterTransport, type GlusterfsSpec } from './glusterfsOptions.js';
export { glusterfsMountArgv, glusterfsShareMount, glusterfsSource, isGlusterfsMounted } from './glusterfsMount.js';
export {
  activeGlusterServer,
  glusterdAnswers,
  glusterServerAnswers,
  glusterVolumeInfoArgv,
  volumeInfoSaysStarted,
  GLUSTERD_PORT,
} from './glusterfsProbe.js';
export { glusterfsQemuAccess, type GlusterFileLocation } from './glusterfsQemuAccess.js';
export { padToGlusterSector, GLUSTER_SECTOR_BYTES } from './qcow2Alignment.js';
