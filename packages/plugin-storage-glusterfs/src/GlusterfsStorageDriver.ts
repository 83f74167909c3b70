import { relative } from 'node:path';
import type { Readable } from 'node:stream';
import {
  parseShareVolname,
  ShareLayout,
  shareOptions,
  ShareStorageDriver,
  type AllocateOptions,
  type ShareMounter,
  type StorageContent,
  type StorageContext,
  type TransferFormat,
  type VolumeAccess,
  type VolumeConsumer,
  type VolumeFormat,
} from '@corral/core';
import { GlusterfsMounter } from './GlusterfsMounter.js';
import { glusterfsSpec } from './glusterfsOptions.js';
import { activeGlusterServer } from './glusterfsProbe.js';
import { glusterfsQemuAccess } from './glusterfsQemuAccess.js';
import { GLUSTERFS_SHARE_TYPE } from './glusterfsShareType.js';
import { padToGlusterSector } from './qcow2Alignment.js';

/**
 * The driver of storage type `glusterfs`: core's mounted-share driver (Proxmox's dir
 * layout under the mount point: `images/<vmid>/vm-<vmid>-disk-N.{raw,qcow2}`, bases, linked
 * clones with the relative backing file `../<basevmid>/base-…`, `template/iso`,
 * `template/cache`, `dump`, `snippets`) over a FUSE mount of the Gluster volume on `path`.
 *
 * - `activate` probes the servers (pve's `get_active_server`; none answering is
 *   `UnavailableError` "not online"), creates `path` and runs `mount -t glusterfs
 *   <server>:<volume> <path> [-o backup-volfile-servers=<server2>]` unless /proc/mounts shows
 *   the volume there; `deactivate` unmounts; `status` is inactive while not mounted or when the
 *   mount no longer answers (server gone).
 * - `resolve` for consumer `qemu` answers an image as `gluster://<server>/<volume>/images/<vmid>/<file>`
 *   (kind `qemu`, a `gluster` blockdev; the server is the active one, else `server`), linked
 *   clones included (libgfapi resolves their `../` backing file); isos, other consumers and
 *   transport `unix` get the file on the mount.
 * - Every qcow2 that `qemu-img` wrote on the mount (allocate, resize, snapshots, linked clone,
 *   import) is padded to a multiple of 512 bytes, so QEMU's gluster driver can read its end
 *   (see {@link padToGlusterSector}).
 *
 * External programs: `mount`, `umount`, `qemu-img`, `gluster` (probe of a local server).
 * Locks are the facade's.
 */
export class GlusterfsStorageDriver extends ShareStorageDriver {
  /** @param mounter how the volume is mounted and checked (default: the FUSE client, {@link GlusterfsMounter}). */
  constructor(mounter: ShareMounter = new GlusterfsMounter()) {
    super(GLUSTERFS_SHARE_TYPE, mounter);
  }

  /** Pads the volume's file when it is a qcow2 (see {@link padToGlusterSector}). */
  async #padImage(ctx: StorageContext, volname: string): Promise<void> {
    const v = parseShareVolname(volname);
    if (v.format !== 'qcow2') return;
    const options = shareOptions(ctx.storage);
    await padToGlusterSector(new ShareLayout(options.path, options.contentDirs).pathOf(v));
  }

  override async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    const access = await super.resolve(ctx, volname, options);
    if (options.consumer !== 'qemu' || access.kind !== 'file' || parseShareVolname(volname).content !== 'images') return access;
    const spec = glusterfsSpec(ctx.storage);
    const server = (await activeGlusterServer(ctx.runner, spec, ctx.signal)) ?? spec.server;
    const remote = glusterfsQemuAccess(
      { server, volume: spec.volume, path: relative(spec.path, access.path), ...(spec.transport ? { transport: spec.transport } : {}) },
      access.format
    );
    return remote ?? access;
  }

  override async allocate(ctx: StorageContext, options: AllocateOptions): Promise<string> {
    const volname = await super.allocate(ctx, options);
    await this.#padImage(ctx, volname);
    return volname;
  }

  override async resize(ctx: StorageContext, volname: string, options: { sizeBytes: number }): Promise<void> {
    await super.resize(ctx, volname, options);
    await this.#padImage(ctx, volname);
  }

  override async snapshotCreate(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await super.snapshotCreate(ctx, volname, options);
    await this.#padImage(ctx, volname);
  }

  override async snapshotRollback(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await super.snapshotRollback(ctx, volname, options);
    await this.#padImage(ctx, volname);
  }

  override async snapshotDelete(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await super.snapshotDelete(ctx, volname, options);
    await this.#padImage(ctx, volname);
  }

  override async cloneLinked(ctx: StorageContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
    const clone = await super.cloneLinked(ctx, volname, options);
    await this.#padImage(ctx, clone);
    return clone;
  }

  override async importVolume(
    ctx: StorageContext,
    options: { format: TransferFormat; stream: Readable; vmid: number; name: string; content: StorageContent; volumeFormat: VolumeFormat }
  ): Promise<string> {
    const volname = await super.importVolume(ctx, options);
    await this.#padImage(ctx, volname);
    return volname;
  }
}
