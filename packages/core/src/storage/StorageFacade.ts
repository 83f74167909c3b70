import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { ConfigStore } from '../config/ConfigStore.js';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  InvalidConfigError,
  NotFoundError,
  NotSupportedError,
  ProtectedError,
  StorageFullError,
  UnavailableError,
} from '../errors.js';
import type { CommandRunner } from '../exec/CommandRunner.js';
import type { LockLease, LockManager } from '../locks/LockManager.js';
import type { Logger } from '../util/Logger.js';
import { Reverter, withReverter } from '../util/Reverter.js';
import { assertPrivileged, checkCaller, type Caller } from '../security/Caller.js';
import { privilegedOptionUses } from '../contracts/declaredPrivileges.js';
import {
  hasVolumeFeature,
  storageInfoFor,
  type CopyVolumeWithinOptions,
  type ParsedVolname,
  type StorageContent,
  type StorageContext,
  type StorageDefinition,
  type StorageDriver,
  type StorageDriverInfo,
  type StorageStatus,
  type TransferFormat,
  type VolumeAccess,
  type VolumeConsumer,
  type VolumeFeature,
  type VolumeFormat,
  type VolumeInfo,
  type VolumeSnapshotInfo,
  type VolumeState,
} from '../contracts/storage.js';
import { StorageConfigFile, type StorageSection } from './StorageConfigFile.js';
import { BandwidthLimitStream } from './BandwidthLimitStream.js';
import { definitionWithoutDriver, optionToString, toStorageDefinition, validateStorageOptions } from './storageDefinitions.js';
import { copyBandwidthLimit, type BandwidthOperation } from './storageOptionValues.js';
import { formatVolumeId, parseVolumeId, STORAGE_ID_PATTERN } from './volumeId.js';
import { VolumeAttributes, type VolumeAttributeValues } from './VolumeAttributes.js';
import { DISK_NAME, VolumeNameReservations } from './VolumeNameReservations.js';

/** A storage with its status, as `pvesm status` lists it. Sizes in bytes. */
export interface StorageSummary extends StorageStatus {
  readonly id: string;
  readonly type: string;
  readonly content: readonly StorageContent[];
  readonly shared: boolean;
  readonly enabled: boolean;
  /** False when no loaded plugin provides the storage's type: it is then inactive. */
  readonly driver: boolean;
}

/** Options of {@link StorageFacade.allocate}. */
export interface AllocateVolumeOptions {
  readonly storage: string;
  readonly vmid: number;
  /** Virtual size in bytes (> 0, except `subvol` where 0 means no quota). */
  readonly sizeBytes: number;
  /** Default: the driver's default format (for `rootdir` on a storage with `subvol`: `subvol`). */
  readonly format?: VolumeFormat;
  /** Default `images`. */
  readonly content?: StorageContent;
  /** Explicit name (`vm-100-disk-5`); default: the next free `vm|subvol-<vmid>-disk-<n>`. */
  readonly name?: string;
  readonly signal?: AbortSignal;
}

/** Options of the storage definition changes ({@link StorageFacade.add}, {@link StorageFacade.update}). */
export interface StorageDefinitionOptions {
  /**
   * Who asks, checked first (`checkCaller`). Default: unprivileged. Options listed in the
   * driver's `privilegedOptions` (host paths, pools...) need a privileged caller (`ROOT_CALLER`
   * or one made by `privilegedCaller()`); so does every option of a driver that declares no
   * `privilegedOptions` (plugin API 1). An object that only says `privileged: true` is refused
   * with `PermissionError` (key `caller`).
   */
  readonly caller?: Caller;
}

/** Volumes a guest owns on every storage, and the storages that could not be listed. */
export interface OwnedVolumes {
  readonly volids: readonly string[];
  /** One message per storage that could not be listed (unreachable, disabled driver...). */
  readonly problems: readonly string[];
}

/** Options of {@link StorageFacade.copy}. */
export interface CopyVolumeOptions {
  readonly targetStorage: string;
  readonly vmid: number;
  readonly name?: string;
  /** Copy the state of a snapshot instead of the current state. */
  readonly snapshot?: string;
  readonly signal?: AbortSignal;
  /** Where problems of the cleanup after a failed copy go (a task logger). Default: the kernel logger. */
  readonly log?: Logger;
  /**
   * Which limit of the storages' `bwlimit` option applies to a streamed copy (Proxmox's
   * `get_bandwidth_limit` operation): the lower of the source's and the target's. Default `clone`.
   */
  readonly bwlimitOperation?: BandwidthOperation;
}

/** Wiring of a {@link StorageFacade}. */
export interface StorageFacadeDeps {
  readonly store: ConfigStore;
  readonly drivers: () => ReadonlyMap<string, StorageDriver>;
  readonly runner: CommandRunner;
  readonly locks: LockManager;
  readonly logger: Logger;
  readonly node: string;
  readonly runDir: string;
}

/** Lock timeout for storage.cfg and per-storage allocation locks, in ms. */
const STORAGE_LOCK_TIMEOUT_MS = 60_000;

/** Every {@link VolumeConsumer}, for the check of {@link StorageFacade.resolve}. */
const VOLUME_CONSUMERS: readonly VolumeConsumer[] = ['host', 'qemu', 'container'];

/** A chosen volume name and its reservation (release it once the volume exists or was freed). */
interface ReservedName {
  readonly name: string;
  readonly reservation: LockLease;
}

/**
 * `kernel.storage`: storage definitions (storage.cfg) and every volume operation, with
 * capability checks before the driver is called and undo of multi-step operations.
 *
 * Locks: storage.cfg changes run under lock `storage.cfg`. `storage:<id>` is held only while
 * a new volume's name is chosen and reserved, and around the creation of small volumes
 * (allocate, linked clone), as Proxmox holds it around `vdisk_alloc`: a full copy, an import
 * or an upload reserves its name (see `VolumeNameReservations`), releases the storage
 * lock and moves its data under the reservation alone, so a long copy never stalls the
 * allocations of other processes. Volume ids are `storeid:volname` (see
 * {@link parseVolumeId}). Sizes are bytes.
 */
export class StorageFacade {
  readonly #cfg: StorageConfigFile;
  readonly #attributes: VolumeAttributes;
  readonly #reservations: VolumeNameReservations;

  constructor(private readonly deps: StorageFacadeDeps) {
    this.#cfg = new StorageConfigFile(deps.store, (type) => deps.drivers().get(type)?.info);
    this.#attributes = new VolumeAttributes(deps.store);
    this.#reservations = new VolumeNameReservations(deps.locks);
  }

  // ---------------------------------------------------------------- definitions

  /**
   * Every storage definition, in storage.cfg order. Broken sections (see
   * `BrokenStorageSection`) are skipped with a warning. A storage whose type no loaded plugin
   * provides (a Proxmox `lvmthin` while no such plugin is installed) is listed, with a warning:
   * it is inactive (see {@link status}) and its volume operations fail with `UnavailableError`.
   */
  async list(): Promise<StorageDefinition[]> {
    const { sections, broken } = await this.#cfg.read();
    for (const b of broken.slice(0, 10)) this.deps.logger.warn(`storage.cfg: skipping a broken section: ${b.error.message}`);
    if (broken.length > 10) this.deps.logger.warn(`storage.cfg: skipping ${broken.length - 10} more broken sections`);
    const out: StorageDefinition[] = [];
    for (const s of sections) {
      const driver = this.deps.drivers().get(s.type);
      if (!driver) {
        this.deps.logger.warn(`storage '${s.id}' has type '${s.type}', for which no driver is loaded: it is inactive`);
        out.push(definitionWithoutDriver(s.id, s.type, s.options));
        continue;
      }
      out.push(toStorageDefinition(s.id, driver.info, s.options));
    }
    return out;
  }

  /**
   * One definition (also of a type no loaded plugin provides). Throws `NotFoundError` (kind
   * `storage`), or the section's `ParseError` when it is broken.
   */
  async get(id: string): Promise<StorageDefinition> {
    const s = this.#cfg.requireSection(await this.#cfg.read(), id);
    const driver = this.deps.drivers().get(s.type);
    return driver ? toStorageDefinition(id, driver.info, s.options) : definitionWithoutDriver(id, s.type, s.options);
  }

  /**
   * Adds a storage. Options are validated by the driver's schema (`InvalidConfigError` naming
   * the option); secret options go to a private file, not storage.cfg. The driver's
   * `checkDefinition` runs before anything is written: a bad definition leaves no trace.
   */
  async add(
    id: string,
    type: string,
    options: Readonly<Record<string, string | number | boolean>>,
    extra: StorageDefinitionOptions = {},
  ): Promise<StorageDefinition> {
    const caller = checkCaller(extra.caller);
    if (!STORAGE_ID_PATTERN.test(id)) throw new InvalidArgumentError('id', `'${id}' is not a valid storage id`);
    const driver = this.deps.drivers().get(type);
    if (!driver) {
      throw new InvalidConfigError('type', type, `unknown storage type '${type}' (loaded: ${[...this.deps.drivers().keys()].join(', ') || 'none'})`);
    }
    const { plain, secrets } = this.#splitSecrets(driver, options);
    validateStorageOptions(id, driver.info, { ...plain, ...secrets });
    assertPrivileged(caller, privilegedOptionUses(driver, Object.keys({ ...plain, ...secrets }), { ...plain, ...secrets }));
    return this.deps.locks.withLock(
      'storage.cfg',
      async () => {
        const file = await this.#cfg.read();
        if (file.sections.some((s) => s.id === id) || file.broken.some((b) => b.id === id)) throw new AlreadyExistsError('storage', id);
        const def = toStorageDefinition(id, driver.info, plain);
        await driver.checkDefinition?.(await this.#context(def, secrets));
        await withReverter(async (revert) => {
          if (Object.keys(secrets).length > 0) {
            await this.#cfg.writeSecrets(id, secrets);
            revert.add(() => this.#cfg.deleteSecrets(id), 'remove secrets');
          }
          await this.#cfg.write([...file.sections, { type, id, options: plain }], file.digest);
        }, { log: this.deps.logger });
        return def;
      },
      { timeoutMs: STORAGE_LOCK_TIMEOUT_MS },
    );
  }

  /**
   * Changes options of a storage (`delete` lists options to remove). Same validation and
   * privilege check as {@link add} (for the options set and deleted).
   */
  async update(
    id: string,
    options: Readonly<Record<string, string | number | boolean>>,
    extra: StorageDefinitionOptions & { delete?: readonly string[] } = {},
  ): Promise<StorageDefinition> {
    const caller = checkCaller(extra.caller);
    return this.deps.locks.withLock(
      'storage.cfg',
      async () => {
        const file = await this.#cfg.read();
        const index = file.sections.findIndex((s) => s.id === id);
        if (index < 0) throw new NotFoundError('storage', id);
        const section = file.sections[index]!;
        const driver = this.#driverFor(section.type, id);
        const { plain, secrets } = this.#splitSecrets(driver, options);
        const oldSecrets = await this.#cfg.readSecrets(id);
        const nextPlain: Record<string, string> = { ...section.options, ...plain };
        const nextSecrets: Record<string, string> = { ...oldSecrets, ...secrets };
        for (const key of extra.delete ?? []) {
          delete nextPlain[key];
          delete nextSecrets[key];
        }
        validateStorageOptions(id, driver.info, { ...nextPlain, ...nextSecrets });
        assertPrivileged(
          caller,
          privilegedOptionUses(driver, [...Object.keys({ ...plain, ...secrets }), ...(extra.delete ?? [])], { ...nextPlain, ...nextSecrets }),
        );
        const def = toStorageDefinition(id, driver.info, nextPlain);
        await driver.checkDefinition?.(await this.#context(def, nextSecrets));
        const sections = [...file.sections];
        sections[index] = { type: section.type, id, options: nextPlain };
        await withReverter(async (revert) => {
          if (Object.keys(secrets).length > 0 || (extra.delete ?? []).some((k) => k in oldSecrets)) {
            await this.#cfg.writeSecrets(id, nextSecrets);
            revert.add(() => this.#cfg.writeSecrets(id, oldSecrets), 'restore secrets');
          }
          await this.#cfg.write(sections, file.digest);
        }, { log: this.deps.logger });
        return def;
      },
      { timeoutMs: STORAGE_LOCK_TIMEOUT_MS },
    );
  }

  /**
   * Removes a storage definition, broken ones too (volumes on it are left alone, as `pvesm
   * remove`). A definition that only a privileged caller could write (a host path...) only a
   * privileged caller may remove (`PermissionError`); a broken one needs one too.
   */
  async remove(id: string, extra: StorageDefinitionOptions = {}): Promise<void> {
    const caller = checkCaller(extra.caller);
    await this.deps.locks.withLock(
      'storage.cfg',
      async () => {
        const file = await this.#cfg.read();
        const section = file.sections.find((s) => s.id === id);
        if (!section && !file.broken.some((b) => b.id === id)) throw new NotFoundError('storage', id);
        const driver = section && this.deps.drivers().get(section.type);
        if (!section || !driver) assertPrivileged(caller, [{ key: 'id', reason: `removing storage '${id}', whose definition cannot be read` }]);
        else assertPrivileged(caller, privilegedOptionUses(driver, Object.keys(section.options), { ...section.options, ...(await this.#cfg.readSecrets(id)) }));
        await this.#cfg.write(
          file.sections.filter((s) => s.id !== id),
          file.digest,
          { dropBroken: [id] },
        );
        await this.#cfg.deleteSecrets(id);
      },
      { timeoutMs: STORAGE_LOCK_TIMEOUT_MS },
    );
  }

  /** Activates a storage (mount, import, daemon check). Throws `UnavailableError` when the backend is unreachable. */
  async activate(id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { driver, ctx } = await this.#open(id, options.signal);
    await driver.activate(ctx);
  }

  /** Deactivates a storage. */
  async deactivate(id: string): Promise<void> {
    const { driver, ctx } = await this.#open(id);
    await driver.deactivate(ctx);
  }

  /**
   * Status of one storage (activating it first, as Proxmox does). An unreachable backend, a
   * disabled storage, or a type no loaded plugin provides (`driver: false`) gives `active:
   * false`, not an error.
   */
  async status(id: string): Promise<StorageSummary> {
    const section = this.#cfg.requireSection(await this.#cfg.read(), id);
    const known = this.deps.drivers().get(section.type);
    if (!known) {
      const plain = definitionWithoutDriver(id, section.type, section.options);
      return { id, type: plain.type, content: plain.content, shared: plain.shared, enabled: !plain.disabled, driver: false, ...inactive() };
    }
    // A disabled storage is listed as inactive (as `pvesm status`), without asking its driver.
    const { driver, ctx, def } = await this.#open(id, undefined, { disabled: 'allow' });
    let status: StorageStatus;
    try {
      if (def.disabled) status = inactive();
      else {
        await driver.activate(ctx);
        status = await driver.status(ctx);
      }
    } catch (err) {
      this.deps.logger.warn(`storage '${id}' status failed: ${(err as Error).message}`);
      status = inactive();
    }
    return { id, type: def.type, content: def.content, shared: def.shared, enabled: !def.disabled, driver: true, ...status };
  }

  /** Status of every storage usable on this node. */
  async statusAll(): Promise<StorageSummary[]> {
    const defs = await this.list();
    return Promise.all(defs.filter((d) => d.nodes.length === 0 || d.nodes.includes(this.deps.node)).map((d) => this.status(d.id)));
  }

  // ---------------------------------------------------------------- volumes

  /** The driver's reading of a volume id (checks it belongs to the storage). */
  async parse(volid: string): Promise<ParsedVolname & { storage: string; type: string }> {
    const { driver, ctx, volname } = await this.#openVolume(volid);
    return { ...driver.parseVolname(ctx, volname), storage: ctx.storage.id, type: driver.info.type };
  }

  /**
   * Lists volumes, optionally by content and guest, sorted by volname. A content type the
   * driver does not declare in `contentTypes` (`import` on a driver that predates it) lists
   * nothing, without asking the driver.
   */
  async listVolumes(id: string, filter: { content?: StorageContent; vmid?: number } = {}): Promise<VolumeInfo[]> {
    const { driver, ctx } = await this.#open(id);
    if (filter.content !== undefined && !driver.info.contentTypes.includes(filter.content)) return [];
    await driver.activate(ctx);
    return driver.listVolumes(ctx, filter);
  }

  /** Size, format and parent of a volume. Throws `NotFoundError` (kind `volume`). */
  async volumeInfo(volid: string): Promise<VolumeInfo> {
    const { driver, ctx, volname } = await this.#openVolume(volid);
    await driver.activate(ctx);
    return driver.volumeInfo(ctx, volname);
  }

  /**
   * The linked clones of a base volume (volids of volumes on its storage whose parent it is),
   * sorted. Empty for a volume that is not a base.
   */
  async linkedClones(volid: string): Promise<string[]> {
    const { driver, ctx, parsed } = await this.#openVolume(volid);
    if (!parsed.isBase) return [];
    await driver.activate(ctx);
    return (await driver.listVolumes(ctx, {}))
      .filter((v) => v.parent === volid)
      .map((v) => v.volid)
      .sort();
  }

  /**
   * Every volume owned by guest `vmid` (the vmid in its name) on every enabled storage of this
   * node that holds guest volumes (`images` or `rootdir`), as Proxmox's `vdisk_list` for one
   * vmid. A storage that cannot be listed is reported in `problems`, not thrown.
   */
  async volumesOwnedBy(vmid: number): Promise<OwnedVolumes> {
    const volids: string[] = [];
    const problems: string[] = [];
    for (const def of await this.list()) {
      if (def.disabled || (def.nodes.length > 0 && !def.nodes.includes(this.deps.node))) continue;
      if (!def.content.includes('images') && !def.content.includes('rootdir')) continue;
      try {
        for (const v of await this.listVolumes(def.id, { vmid })) {
          if (v.vmid === vmid && (v.content === 'images' || v.content === 'rootdir')) volids.push(v.volid);
        }
      } catch (err) {
        problems.push(`storage '${def.id}' could not be listed for guest ${vmid}: ${(err as Error).message}`);
      }
    }
    return { volids: volids.sort(), problems };
  }

  /**
   * Allocates a volume named like Proxmox (`vm-<vmid>-disk-<n>`, `subvol-<vmid>-disk-<n>` for
   * container subvols), skipping names that a running copy or import has reserved. Returns
   * the volid. Throws `StorageFullError` on a thick storage with too little space,
   * `AlreadyExistsError` for a taken explicit name, `NotSupportedError` (operation
   * `allocate`) for a storage whose record says it cannot allocate (`allocates: false`).
   * Runs under `storage:<id>` (60 s wait).
   */
  async allocate(options: AllocateVolumeOptions): Promise<string> {
    const content = options.content ?? 'images';
    const { driver, ctx, def, info } = await this.#open(options.storage, options.signal);
    if (info.allocates === false) {
      throw new NotSupportedError('allocate', `storage '${def.id}' (type '${def.type}') cannot allocate volumes: capability 'allocates' is false (its volumes are made outside Corral)`);
    }
    this.#checkContent(def, content);
    const format = options.format ?? (content === 'rootdir' && info.formats.includes('subvol') ? 'subvol' : defaultFormatOf(info, def));
    if (!info.formats.includes(format)) {
      throw new InvalidArgumentError('format', `storage '${def.id}' (${def.type}) cannot allocate format '${format}' (it can: ${info.formats.join(', ')})`);
    }
    if (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes < 0 || (options.sizeBytes === 0 && format !== 'subvol')) {
      throw new InvalidArgumentError('sizeBytes', `size must be a positive number of bytes, got ${options.sizeBytes}`);
    }
    if (!Number.isInteger(options.vmid) || options.vmid < 100) throw new InvalidArgumentError('vmid', `invalid guest id ${options.vmid}`);
    await driver.activate(ctx);
    return this.deps.locks.withLock(
      `storage:${def.id}`,
      async () => {
        if (!info.thin) {
          const status = await driver.status(ctx);
          if (status.availableBytes < options.sizeBytes) throw new StorageFullError(def.id, options.sizeBytes, status.availableBytes);
        }
        const { name, reservation } = await this.#chooseName(driver, ctx, { vmid: options.vmid, prefix: prefixOf(format), name: options.name, signal: options.signal });
        try {
          const volname = await driver.allocate(ctx, { vmid: options.vmid, name, format, sizeBytes: options.sizeBytes, content });
          return formatVolumeId(def.id, volname);
        } finally {
          await reservation.release();
        }
      },
      { timeoutMs: STORAGE_LOCK_TIMEOUT_MS, signal: options.signal },
    );
  }

  /** Deletes a volume. Throws `ProtectedError` for a protected volume. */
  async free(volid: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { driver, ctx, volname } = await this.#openVolume(volid, options.signal);
    const attrs = await this.#attributes.get(ctx.storage.id, volname);
    if (attrs.protected) throw new ProtectedError('volume', volid);
    await driver.activate(ctx);
    await driver.free(ctx, volname);
    await this.#attributes.remove(ctx.storage.id, volname);
  }

  /** Sets the virtual size (bytes). Shrinking needs the `shrink` feature. */
  async resize(volid: string, options: { sizeBytes: number; signal?: AbortSignal }): Promise<void> {
    const { driver, ctx, volname, parsed, info: caps } = await this.#openVolume(volid, options.signal);
    // A bad size is a bad argument whatever the driver can do (checked before `shrink`, which size 0 would ask for).
    if (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes <= 0) {
      throw new InvalidArgumentError('sizeBytes', `size must be a positive number of bytes, got ${options.sizeBytes}`);
    }
    await driver.activate(ctx);
    const info = await driver.volumeInfo(ctx, volname);
    const shrinking = options.sizeBytes < info.sizeBytes;
    this.#require(caps, ctx.storage, shrinking ? 'shrink' : 'resize', stateOf(parsed), parsed.format, volid);
    await driver.resize(ctx, volname, { sizeBytes: options.sizeBytes });
  }

  /**
   * Makes a volume reachable for a consumer and says how (file, block device, QEMU spec,
   * directory). `consumer` defaults to `host` (what `pvesm path` answers); an unknown one is
   * an `InvalidArgumentError` naming `consumer`.
   */
  async resolve(volid: string, options: { consumer?: VolumeConsumer; snapshot?: string; signal?: AbortSignal } = {}): Promise<VolumeAccess> {
    const consumer = options.consumer ?? 'host';
    if (!VOLUME_CONSUMERS.includes(consumer)) {
      throw new InvalidArgumentError('consumer', `unknown volume consumer '${String(consumer)}' (expected ${VOLUME_CONSUMERS.join(', ')})`);
    }
    const { driver, ctx, volname } = await this.#openVolume(volid, options.signal);
    await driver.activate(ctx);
    return driver.resolve(ctx, volname, { consumer, snapshot: options.snapshot });
  }

  /** Undoes what {@link resolve} mapped or mounted. */
  async deactivateVolume(volid: string, options: { snapshot?: string } = {}): Promise<void> {
    const { driver, ctx, volname } = await this.#openVolume(volid);
    await driver.deactivateVolume(ctx, volname, options);
  }

  /** True when `feature` works for the volume in the given state (default: its current state). */
  async hasFeature(volid: string, feature: VolumeFeature, state?: VolumeState): Promise<boolean> {
    const { parsed, info } = await this.#openVolume(volid);
    return hasVolumeFeature(info, feature, state ?? stateOf(parsed), parsed.format);
  }

  // ---------------------------------------------------------------- snapshots

  async snapshotCreate(volid: string, snapshot: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    checkSnapshotName(snapshot);
    const { driver, ctx, volname, parsed, info } = await this.#openVolume(volid, options.signal);
    this.#require(info, ctx.storage, 'snapshot', stateOf(parsed), parsed.format, volid);
    await driver.snapshotCreate(ctx, volname, { snapshot });
  }

  async snapshotList(volid: string): Promise<VolumeSnapshotInfo[]> {
    const { driver, ctx, volname } = await this.#openVolume(volid);
    return driver.snapshotList(ctx, volname);
  }

  /** Restores the volume's bytes to the snapshot (the guest using it must be stopped). */
  async snapshotRollback(volid: string, snapshot: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    checkSnapshotName(snapshot);
    const { driver, ctx, volname, parsed, info } = await this.#openVolume(volid, options.signal);
    this.#require(info, ctx.storage, 'rollback', 'snapshot', parsed.format, volid);
    await driver.snapshotRollback(ctx, volname, { snapshot });
  }

  async snapshotDelete(volid: string, snapshot: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    checkSnapshotName(snapshot);
    const { driver, ctx, volname, parsed, info } = await this.#openVolume(volid, options.signal);
    this.#require(info, ctx.storage, 'snapshot', stateOf(parsed), parsed.format, volid);
    await driver.snapshotDelete(ctx, volname, { snapshot });
  }

  // ---------------------------------------------------------------- templates, clones, copies

  /** Turns a volume into a template base; returns the new volid (`base-...`). */
  async createBase(volid: string): Promise<string> {
    const { driver, ctx, volname, parsed, info } = await this.#openVolume(volid);
    this.#require(info, ctx.storage, 'template', 'current', parsed.format, volid);
    if (parsed.isBase) return volid;
    const base = await driver.createBase(ctx, volname);
    await this.#attributes.rename(ctx.storage.id, volname, base);
    return formatVolumeId(ctx.storage.id, base);
  }

  /**
   * Linked clone of a base (or a snapshot) for guest `vmid`; returns the new volid. The clone
   * gets the next free `vm-<vmid>-disk-<n>` name unless `name` is given.
   */
  async cloneLinked(volid: string, options: { vmid: number; snapshot?: string; name?: string; signal?: AbortSignal }): Promise<string> {
    const { driver, ctx, volname, parsed, info } = await this.#openVolume(volid, options.signal);
    const state: VolumeState = options.snapshot ? 'snapshot' : stateOf(parsed);
    this.#require(info, ctx.storage, 'clone', state, parsed.format, volid);
    return this.deps.locks.withLock(
      `storage:${ctx.storage.id}`,
      async () => {
        const { name, reservation } = await this.#chooseName(driver, ctx, {
          vmid: options.vmid,
          prefix: prefixOf(parsed.format),
          name: options.name,
          signal: options.signal,
        });
        try {
          const out = await driver.cloneLinked(ctx, volname, { vmid: options.vmid, name, snapshot: options.snapshot });
          return formatVolumeId(ctx.storage.id, out);
        } finally {
          await reservation.release();
        }
      },
      { timeoutMs: STORAGE_LOCK_TIMEOUT_MS, signal: options.signal },
    );
  }

  /**
   * Full copy to any storage (the same or another type); returns the new volid. Within one
   * storage, when the driver has `copyVolume` (a reflink, a snapshot clone, a local send) and
   * the copy keeps the format, that hook makes the copy; otherwise, and when the hook answers
   * `NotSupportedError`, the bytes stream through `exportVolume`/`importVolume` in the first
   * format both drivers speak. A failed copy frees what it created. The target's name is
   * chosen and reserved under `storage:<target>` (60 s wait); the copy itself runs without
   * that lock, under the name's reservation (the caller's guest lock and the source's shared
   * lock protect it), so allocations on the target go on meanwhile.
   */
  async copy(volid: string, options: CopyVolumeOptions): Promise<string> {
    const src = await this.#openVolume(volid, options.signal);
    const dst = await this.#open(options.targetStorage, options.signal);
    const content = src.parsed.content;
    this.#require(src.info, src.def, 'copy', options.snapshot ? 'snapshot' : stateOf(src.parsed), src.parsed.format, volid);
    this.#checkContent(dst.def, content);
    const volumeFormat = dst.info.formats.includes(src.parsed.format) ? src.parsed.format : defaultFormatOf(dst.info, dst.def);
    const hook = src.def.id === dst.def.id && volumeFormat === src.parsed.format && src.driver.copyVolume !== undefined;
    const format = pickTransferFormat(src.info, dst.info, src.parsed.format);
    if (!format && !hook) {
      throw new NotSupportedError(
        'copy',
        `no common transfer format between '${src.def.id}' (${src.info.exportFormats.join(', ')}) and '${dst.def.id}' (${dst.info.importFormats.join(', ')})`,
      );
    }
    await src.driver.activate(src.ctx);
    await dst.driver.activate(dst.ctx);
    const info = await src.driver.volumeInfo(src.ctx, src.volname);
    if (!dst.info.thin) {
      const status = await dst.driver.status(dst.ctx);
      if (status.availableBytes < info.sizeBytes) throw new StorageFullError(dst.def.id, info.sizeBytes, status.availableBytes);
    }
    const { name, reservation } = await this.#reserveName(
      dst.ctx,
      () => this.#chooseName(dst.driver, dst.ctx, { vmid: options.vmid, prefix: prefixOf(volumeFormat), name: options.name, signal: options.signal }),
      options.signal,
    );
    try {
      // The data moves under the name's reservation only, not under `storage:<id>`.
      const dstCtx = whileReserved(dst.ctx, reservation);
      if (hook) {
        const copied = await this.#copyWithin(dst.driver, dst.ctx, dstCtx, src.volname, { vmid: options.vmid, name, snapshot: options.snapshot }, options.log);
        if (copied !== undefined) return formatVolumeId(dst.def.id, copied);
        if (!format) throw new NotSupportedError('copy', `storage '${src.def.id}' could not copy '${volid}' within itself and has no transfer format to stream it`);
      }
      const limit = copyBandwidthLimit(src.def, dst.def, options.bwlimitOperation ?? 'clone');
      const pipe = limit === undefined ? new PassThrough({ highWaterMark: 4 * 1024 * 1024 }) : new BandwidthLimitStream(limit, { highWaterMark: 4 * 1024 * 1024 });
      // Errors reach the caller through the export and import promises; an 'error' event on
      // the pipe before the import reads from it must not crash the process.
      pipe.on('error', () => undefined);
      const exporting = src.driver.exportVolume(src.ctx, src.volname, { format: format!, stream: pipe, snapshot: options.snapshot });
      exporting.catch((err: unknown) => pipe.destroy(err as Error));
      let created: string | undefined;
      const revert = this.#partialVolumeReverter(dst.driver, dst.ctx, options.vmid, name, () => created, options.log);
      try {
        const [, out] = await Promise.all([
          exporting,
          dst.driver
            .importVolume(dstCtx, { format: format!, stream: pipe, vmid: options.vmid, name, content, volumeFormat })
            .then((v) => (created = v)),
        ]);
        revert.success();
        return formatVolumeId(dst.def.id, out);
      } catch (err) {
        pipe.destroy();
        // WARNING: an AlreadyExistsError means the name belongs to a volume that was there before: never free it.
        if (!(err instanceof AlreadyExistsError)) await revert.fail();
        throw err;
      }
    } finally {
      await reservation.release();
    }
  }

  /**
   * Runs a driver's same-storage copy hook into the reserved `options.name`; returns the new
   * volname, or `undefined` when the hook answered `NotSupportedError` (it created nothing: the
   * caller streams instead). Other errors free the volume of that name (never after
   * `AlreadyExistsError`) and are thrown.
   */
  async #copyWithin(
    driver: StorageDriver,
    ctx: StorageContext,
    reservedCtx: StorageContext,
    volname: string,
    options: CopyVolumeWithinOptions,
    log: Logger | undefined,
  ): Promise<string | undefined> {
    let created: string | undefined;
    const revert = this.#partialVolumeReverter(driver, ctx, options.vmid, options.name, () => created, log);
    try {
      created = await driver.copyVolume!(reservedCtx, volname, options);
      revert.success();
      return created;
    } catch (err) {
      if (err instanceof NotSupportedError) {
        revert.success();
        (log ?? ctx.log).info(`storage '${ctx.storage.id}': no same-storage copy of '${volname}' (${err.message}); streaming it`);
        return undefined;
      }
      // WARNING: an AlreadyExistsError means the name belongs to a volume that was there before: never free it.
      if (!(err instanceof AlreadyExistsError)) await revert.fail();
      throw err;
    }
  }

  /** Writes a volume to a stream in a transfer format (backup, migration). */
  async exportVolume(volid: string, options: { format: TransferFormat; stream: Writable; snapshot?: string; signal?: AbortSignal }): Promise<void> {
    const { driver, ctx, volname, info } = await this.#openVolume(volid, options.signal);
    if (!info.exportFormats.includes(options.format)) {
      throw new NotSupportedError('export', `storage '${ctx.storage.id}' cannot export '${options.format}' (it can: ${info.exportFormats.join(', ')})`);
    }
    await driver.activate(ctx);
    await driver.exportVolume(ctx, volname, { format: options.format, stream: options.stream, snapshot: options.snapshot });
  }

  /**
   * Creates a volume from a stream in a transfer format; returns its volid. A failed import
   * frees what it created. Like {@link copy}, holds `storage:<id>` only to choose and reserve
   * the name, not while the stream is read.
   */
  async importVolume(options: {
    storage: string;
    vmid: number;
    format: TransferFormat;
    stream: Readable;
    content?: StorageContent;
    volumeFormat?: VolumeFormat;
    name?: string;
    signal?: AbortSignal;
    /** Where problems of the cleanup after a failed import go (a task logger). */
    log?: Logger;
  }): Promise<string> {
    const { driver, ctx, def, info } = await this.#open(options.storage, options.signal);
    const content = options.content ?? 'images';
    this.#checkContent(def, content);
    if (!info.importFormats.includes(options.format)) {
      throw new NotSupportedError('import', `storage '${def.id}' cannot import '${options.format}' (it can: ${info.importFormats.join(', ')})`);
    }
    await driver.activate(ctx);
    const volumeFormat = options.volumeFormat ?? (content === 'rootdir' && info.formats.includes('subvol') ? 'subvol' : defaultFormatOf(info, def));
    const { name, reservation } = await this.#reserveName(
      ctx,
      () => this.#chooseName(driver, ctx, { vmid: options.vmid, prefix: prefixOf(volumeFormat), name: options.name, signal: options.signal }),
      options.signal,
    );
    try {
      const revert = this.#partialVolumeReverter(driver, ctx, options.vmid, name, () => undefined, options.log);
      try {
        const out = await driver.importVolume(whileReserved(ctx, reservation), {
          format: options.format,
          stream: options.stream,
          vmid: options.vmid,
          name,
          content,
          volumeFormat,
        });
        revert.success();
        return formatVolumeId(def.id, out);
      } catch (err) {
        // WARNING: an AlreadyExistsError means the name belongs to a volume that was there before: never free it.
        if (!(err instanceof AlreadyExistsError)) await revert.fail();
        throw err;
      }
    } finally {
      await reservation.release();
    }
  }

  /**
   * Stores an iso/vztmpl/snippet/backup/import file on a storage that holds that content;
   * returns its volid. The file name is reserved for the upload (`AlreadyExistsError` while
   * another upload of that name runs, or when the file exists); `storage:<id>` is not held
   * while the stream is read.
   */
  async upload(options: { storage: string; content: StorageContent; filename: string; stream: Readable; signal?: AbortSignal }): Promise<string> {
    const { driver, ctx, def } = await this.#open(options.storage, options.signal);
    if (!['iso', 'vztmpl', 'snippets', 'backup', 'import'].includes(options.content)) {
      throw new InvalidArgumentError('content', `only iso, vztmpl, snippets, backup and import files can be uploaded, not '${options.content}'`);
    }
    this.#checkContent(def, options.content);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.+\-]*$/.test(options.filename)) {
      throw new InvalidArgumentError('filename', `'${options.filename}' is not a valid file name`);
    }
    await driver.activate(ctx);
    const fileName = `${options.content}/${options.filename}`;
    const { reservation } = await this.#reserveName(ctx, () => this.#reserveExact(def.id, fileName, options.signal), options.signal);
    try {
      const volname = await driver.uploadFile(whileReserved(ctx, reservation), { content: options.content, filename: options.filename, stream: options.stream });
      return formatVolumeId(def.id, volname);
    } finally {
      await reservation.release();
    }
  }

  // ---------------------------------------------------------------- attributes

  /** Notes and the protected flag of a volume. */
  async getAttributes(volid: string): Promise<VolumeAttributeValues> {
    const { storage, volname } = parseVolumeId(volid);
    return this.#attributes.get(storage, volname);
  }

  /** Sets notes and/or the protected flag. The volume must exist. */
  async setAttributes(volid: string, values: Partial<VolumeAttributeValues>): Promise<void> {
    const { driver, ctx, volname } = await this.#openVolume(volid);
    await driver.volumeInfo(ctx, volname);
    await this.#attributes.set(ctx.storage.id, volname, values);
  }

  // ---------------------------------------------------------------- internals

  #driverFor(type: string, id: string): StorageDriver {
    const driver = this.deps.drivers().get(type);
    if (!driver) throw new UnavailableError(`storage-driver:${type}`, `storage '${id}' has type '${type}', but no plugin provides that type`);
    return driver;
  }

  #splitSecrets(driver: StorageDriver, options: Readonly<Record<string, string | number | boolean>>) {
    const plain: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    for (const [k, v] of Object.entries(options)) {
      if (v === undefined) continue;
      (driver.info.secretOptions.includes(k) ? secrets : plain)[k] = optionToString(v);
    }
    return { plain, secrets };
  }

  async #context(def: StorageDefinition, secrets: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<StorageContext> {
    const runDir = join(this.deps.runDir, 'storage', def.id);
    await mkdir(runDir, { recursive: true });
    return { storage: def, secrets, node: this.deps.node, runner: this.deps.runner, runDir, log: this.deps.logger, signal };
  }

  async #open(id: string, signal?: AbortSignal, options: { disabled?: 'refuse' | 'allow' } = {}) {
    const section: StorageSection = this.#cfg.requireSection(await this.#cfg.read(), id);
    const driver = this.#driverFor(section.type, id);
    const def = toStorageDefinition(id, driver.info, section.options);
    if (def.disabled && options.disabled !== 'allow') throw new UnavailableError(`storage:${id}`, `storage '${id}' is disabled`);
    if (def.nodes.length > 0 && !def.nodes.includes(this.deps.node)) {
      throw new UnavailableError(`storage:${id}`, `storage '${id}' is not available on node '${this.deps.node}'`);
    }
    const ctx = await this.#context(def, await this.#cfg.readSecrets(id), signal);
    return { driver, ctx, def, info: storageInfoFor(driver, def) };
  }

  async #openVolume(volid: string, signal?: AbortSignal) {
    const { storage, volname } = parseVolumeId(volid);
    const opened = await this.#open(storage, signal);
    const parsed = opened.driver.parseVolname(opened.ctx, volname);
    return { ...opened, volname, parsed };
  }

  #checkContent(def: StorageDefinition, content: StorageContent): void {
    if (!def.content.includes(content)) {
      throw new InvalidArgumentError('content', `storage '${def.id}' does not hold content '${content}' (it holds: ${def.content.join(', ') || 'nothing'})`);
    }
  }

  /**
   * Refuses an operation whose capability the storage's record (`storageInfoFor`) does not
   * declare: `NotSupportedError` whose `operation` is the feature, with a message naming the
   * capability, the format and the state.
   */
  #require(info: StorageDriverInfo, def: StorageDefinition, feature: VolumeFeature, state: VolumeState, format: VolumeFormat, volid: string): void {
    if (!hasVolumeFeature(info, feature, state, format)) {
      throw new NotSupportedError(
        feature,
        `storage '${def.id}' (type '${info.type}') cannot ${feature} a ${format} volume in state '${state}': capability '${feature}' is not declared for ${format} in state '${state}' (${volid})`,
      );
    }
  }

  /**
   * Chooses the name of a new volume and reserves it (see {@link VolumeNameReservations});
   * call it under `storage:<id>`. `request.name` when given (`AlreadyExistsError` when another
   * operation is creating it; a volume that exists is the driver's to refuse), else
   * `<prefix>-<vmid>-disk-<n>` for the smallest n that no volume of `vmid` uses under any
   * prefix and no one has reserved.
   */
  async #chooseName(
    driver: StorageDriver,
    ctx: StorageContext,
    request: { vmid: number; prefix: 'vm' | 'subvol'; name?: string; signal?: AbortSignal },
  ): Promise<ReservedName> {
    const sid = ctx.storage.id;
    if (request.name !== undefined) return this.#reserveExact(sid, request.name, request.signal);
    const used = new Set<number>();
    for (const v of await driver.listVolumes(ctx, { vmid: request.vmid })) {
      const m = DISK_NAME.exec(basename(v.volname));
      if (m && Number(m[1]) === request.vmid) used.add(Number(m[2]));
    }
    for (let n = 0; ; n++) {
      if (used.has(n)) continue;
      const name = `${request.prefix}-${request.vmid}-disk-${n}`;
      const reservation = await this.#reservations.tryReserve(sid, name, request.signal);
      if (reservation) return { name, reservation };
    }
  }

  /** Reserves exactly `name` on `sid`; `AlreadyExistsError` when another operation is creating it. */
  async #reserveExact(sid: string, name: string, signal?: AbortSignal): Promise<ReservedName> {
    const reservation = await this.#reservations.tryReserve(sid, name, signal);
    if (!reservation) throw new AlreadyExistsError('volume', `${sid}:${name}`, `volume '${name}' on storage '${sid}' is being created by another operation`);
    return { name, reservation };
  }

  /**
   * Runs `choose` (a {@link #chooseName} or {@link #reserveExact}) under `storage:<id>`, for that
   * moment only. When the storage lock turns out lost, the reservation is dropped again.
   */
  async #reserveName(ctx: StorageContext, choose: () => Promise<ReservedName>, signal: AbortSignal | undefined): Promise<ReservedName> {
    let reserved: ReservedName | undefined;
    try {
      return await this.deps.locks.withLock(`storage:${ctx.storage.id}`, async () => (reserved = await choose()), {
        timeoutMs: STORAGE_LOCK_TIMEOUT_MS,
        signal,
      });
    } catch (err) {
      await reserved?.reservation.release();
      throw err;
    }
  }

  async #findByName(driver: StorageDriver, ctx: StorageContext, vmid: number, name: string): Promise<string | undefined> {
    try {
      const vols = await driver.listVolumes(ctx, { vmid });
      return vols.find((v) => basename(v.volname).replace(/\.(raw|qcow2|vmdk|subvol)$/, '') === name)?.volname;
    } catch {
      return undefined;
    }
  }

  /**
   * The undo of a copy or import into `name`: frees the volume the driver made (found by
   * name when the driver failed before returning it). Failures go to `log` as warnings.
   */
  #partialVolumeReverter(driver: StorageDriver, ctx: StorageContext, vmid: number, name: string, made: () => string | undefined, log?: Logger): Reverter {
    const revert = new Reverter({ log: log ?? this.deps.logger });
    revert.add(async () => {
      const volname = made() ?? (await this.#findByName(driver, ctx, vmid, name));
      if (volname) await driver.free(ctx, volname);
    }, `free the partial volume '${ctx.storage.id}:${name}'`);
    return revert;
  }
}

function basename(volname: string): string {
  return volname.slice(volname.lastIndexOf('/') + 1);
}

/**
 * The image format used when a request names none: the storage's own `format` option when the
 * driver can allocate it (Proxmox's `default_format($scfg)`), else the driver's default.
 */
function defaultFormatOf(info: StorageDriverInfo, def: StorageDefinition): VolumeFormat {
  const own = def.options.format as VolumeFormat | undefined;
  return own !== undefined && info.formats.includes(own) ? own : info.defaultFormat;
}

/** The disk name prefix of a new volume of `format`. */
function prefixOf(format: VolumeFormat): 'vm' | 'subvol' {
  return format === 'subvol' ? 'subvol' : 'vm';
}

/**
 * `ctx` for work done under a name's reservation: its signal also aborts when the reservation
 * is lost, so the data never goes on flowing into a name that someone else may take.
 */
function whileReserved(ctx: StorageContext, reservation: LockLease): StorageContext {
  return { ...ctx, signal: ctx.signal ? AbortSignal.any([ctx.signal, reservation.lost]) : reservation.lost };
}

function stateOf(parsed: ParsedVolname): VolumeState {
  return parsed.isBase ? 'base' : 'current';
}

function inactive(): StorageStatus {
  return { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
}

const SNAPSHOT_NAME = /^[A-Za-z][A-Za-z0-9_\-]{1,39}$/;

/** Proxmox snapshot names: a letter, then letters, digits, `_` or `-`, 2 to 40 characters. */
export function checkSnapshotName(name: string): void {
  if (!SNAPSHOT_NAME.test(name)) {
    throw new InvalidArgumentError('snapshot', `invalid snapshot name '${name}': a letter followed by 1-39 letters, digits, '_' or '-'`);
  }
}

/** First format in the source's order of preference that the target imports and that fits the volume's kind. */
function pickTransferFormat(src: StorageDriverInfo, dst: StorageDriverInfo, format: VolumeFormat): TransferFormat | undefined {
  const fits = (f: TransferFormat) => (format === 'subvol' ? f !== 'raw+size' && f !== 'qcow2+size' : f !== 'tar+size');
  return src.exportFormats.find((f) => dst.importFormats.includes(f) && fits(f));
}
