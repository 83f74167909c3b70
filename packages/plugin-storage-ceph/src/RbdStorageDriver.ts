import { access, constants } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import {
  BaseStorageDriver,
  InvalidConfigError,
  type AllocateOptions,
  type ParsedVolname,
  type PrivilegedUse,
  type StorageContent,
  type StorageContext,
  type StorageDriverInfo,
  type StorageStatus,
  type TransferFormat,
  type VolumeAccess,
  type VolumeConsumer,
  type VolumeFormat,
  type VolumeInfo,
  type VolumeSnapshotInfo,
} from '@corral/core';
import { RBD_STORAGE_INFO } from './rbdStorageInfo.js';
import { RbdSession, type RbdDriverConfig } from './RbdSession.js';
import { parseRbdVolname } from './rbdVolname.js';
import { rbdOptions } from './rbdOptions.js';
import { keyringText } from './RbdConnection.js';
import { allocateRbdVolume, freeRbdVolume, listRbdVolumes, rbdStorageStatus, rbdVolumeInfo, resizeRbdVolume } from './rbdVolumes.js';
import { resolveRbdVolume } from './rbdAccess.js';
import { unmapAll } from './rbdKrbd.js';
import { createRbdSnapshot, deleteRbdSnapshot, listRbdSnapshots, rollbackRbdSnapshot } from './rbdSnapshots.js';
import { cloneRbdVolume, createRbdBase } from './rbdClones.js';
import { exportRbdVolume, importRbdVolume } from './rbdTransfer.js';

/** Options of {@link RbdStorageDriver}. */
export type RbdStorageDriverOptions = Partial<RbdDriverConfig>;

/**
 * Storage type `rbd` (Proxmox's RBDPlugin): raw images `vm-<vmid>-disk-<n>` in a Ceph pool
 * (and namespace), snapshots, templates `base-...` with a protected `__base__` snapshot,
 * linked clones, `raw+size` export/import streamed through `rbd export`/`rbd import`, usage
 * from `ceph df`. QEMU gets a librbd `-blockdev`/`rbd:` spec; containers (or everyone with
 * `krbd`) a kernel-mapped device.
 *
 * Every `rbd`/`ceph` call runs through the context's CommandRunner with `-c <conf>`
 * (`-m <monhost>`), `--id`, `--keyring` and `--client_mount_timeout` (see
 * {@link prepareRbdConnection}): an unreachable cluster fails within `connectTimeoutMs` with
 * `UnavailableError`. The driver takes no locks (the facade serialises allocations).
 */
export class RbdStorageDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = RBD_STORAGE_INFO;
  readonly #config: RbdDriverConfig;

  constructor(options: RbdStorageDriverOptions = {}) {
    super();
    this.#config = { connectTimeoutMs: options.connectTimeoutMs ?? 10_000, commandTimeoutMs: options.commandTimeoutMs ?? 120_000 };
  }

  #session(ctx: StorageContext): Promise<RbdSession> {
    return RbdSession.open(ctx, this.#config);
  }

  /** See {@link parseRbdVolname}. */
  parseVolname(_ctx: StorageContext, volname: string): ParsedVolname {
    return parseRbdVolname(volname);
  }

  /**
   * Checks the definition without contacting the cluster (it may be down while the storage is
   * added, as Proxmox allows): `monhost` parses, `keyring` is a keyring or a key, `conf` is
   * readable. Throws `InvalidConfigError` naming the option (never echoing the keyring).
   */
  /** Without a `keyring` secret, rbd and QEMU use the host's own Ceph keyring: root-equivalent. */
  privilegedUses(options: Readonly<Record<string, string>>): PrivilegedUse[] {
    return options.keyring ? [] : [{ key: 'keyring', reason: "an rbd storage without 'keyring' uses the host's own Ceph credentials" }];
  }

  async checkDefinition(ctx: StorageContext): Promise<void> {
    const opts = rbdOptions(ctx.storage);
    if (ctx.secrets.keyring !== undefined) keyringText(ctx.secrets.keyring, opts.userId);
    if (opts.conf) {
      try {
        await access(opts.conf, constants.R_OK);
      } catch (err) {
        throw new InvalidConfigError('conf', opts.conf, `storage '${ctx.storage.id}' (rbd): cannot read ceph.conf '${opts.conf}'`, { cause: err });
      }
    }
  }

  /** Writes the storage's conf/keyring files (no cluster contact, as Proxmox's activate_storage). */
  async activate(ctx: StorageContext): Promise<void> {
    await this.#session(ctx);
  }

  async status(ctx: StorageContext): Promise<StorageStatus> {
    return rbdStorageStatus(await this.#session(ctx));
  }

  async listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
    return listRbdVolumes(await this.#session(ctx), filter);
  }

  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    return rbdVolumeInfo(await this.#session(ctx), volname);
  }

  async allocate(ctx: StorageContext, options: AllocateOptions): Promise<string> {
    return allocateRbdVolume(await this.#session(ctx), options);
  }

  async free(ctx: StorageContext, volname: string): Promise<void> {
    await freeRbdVolume(await this.#session(ctx), volname);
  }

  override async resize(ctx: StorageContext, volname: string, options: { sizeBytes: number }): Promise<void> {
    await resizeRbdVolume(await this.#session(ctx), volname, options.sizeBytes);
  }

  async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    return resolveRbdVolume(await this.#session(ctx), volname, options);
  }

  /** Unmaps kernel mappings of the volume (or of one snapshot). Idempotent. */
  override async deactivateVolume(ctx: StorageContext, volname: string, options: { snapshot?: string }): Promise<void> {
    await unmapAll(await this.#session(ctx), parseRbdVolname(volname).name, options.snapshot);
  }

  override async snapshotCreate(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await createRbdSnapshot(await this.#session(ctx), volname, options.snapshot);
  }

  override async snapshotList(ctx: StorageContext, volname: string): Promise<VolumeSnapshotInfo[]> {
    return listRbdSnapshots(await this.#session(ctx), volname);
  }

  override async snapshotRollback(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await rollbackRbdSnapshot(await this.#session(ctx), volname, options.snapshot);
  }

  override async snapshotDelete(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await deleteRbdSnapshot(await this.#session(ctx), volname, options.snapshot);
  }

  override async createBase(ctx: StorageContext, volname: string): Promise<string> {
    return createRbdBase(await this.#session(ctx), volname);
  }

  override async cloneLinked(ctx: StorageContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
    return cloneRbdVolume(await this.#session(ctx), volname, options);
  }

  override async exportVolume(ctx: StorageContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    await exportRbdVolume(await this.#session(ctx), volname, options);
  }

  override async importVolume(
    ctx: StorageContext,
    options: { format: TransferFormat; stream: Readable; vmid: number; name: string; content: StorageContent; volumeFormat: VolumeFormat },
  ): Promise<string> {
    return importRbdVolume(await this.#session(ctx), options);
  }
}
