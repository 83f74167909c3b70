/**
 * The storage-driver contract.
 *
 * A storage driver implements one storage type (Proxmox's `dir`, `zfspool`, `rbd`...). The
 * {@link StorageFacade} (`kernel.storage`) owns storage.cfg, volume ids, locks, capability
 * checks and undo; a driver only talks to its backend. Drivers split their work over small
 * interfaces ({@link VolumeOperations}, {@link SnapshotOperations}, {@link CloneOperations},
 * {@link TransferOperations}); {@link BaseStorageDriver} answers `NotSupportedError` for what a
 * driver leaves out, and {@link StorageDriverInfo.features} tells the facade, before it calls,
 * which operation works on which volume state.
 *
 * Units: every size is in bytes. Volume names (`volname`) are the part of a volume id after
 * `storeid:`; the facade has already rejected traversal (`..`, absolute paths, NUL) before a
 * driver sees one, and calls {@link VolumeOperations.parseVolname} to check it belongs to the
 * driver.
 *
 * @packageDocumentation
 */
import type { Readable, Writable } from 'node:stream';
import type { TObject } from '@sinclair/typebox';
import type { CommandRunner } from '../exec/CommandRunner.js';
import type { Logger } from '../util/Logger.js';
import type { PrivilegedUse } from '../security/Caller.js';

/**
 * Content types a storage can hold (Proxmox's `content` option). `import` (Proxmox VE 8.2+)
 * holds sources of guest imports: `.ova`, `.ovf`, `.qcow2`, `.raw`, `.vmdk` files under
 * `import/` of a file storage. The facade hands a driver only the content types its
 * `contentTypes` declares, so a driver written before `import` existed never sees it.
 */
export type StorageContent = 'images' | 'rootdir' | 'iso' | 'vztmpl' | 'backup' | 'snippets' | 'import';

/** Every {@link StorageContent}, in Proxmox's order. */
export const STORAGE_CONTENT_TYPES: readonly StorageContent[] = ['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets', 'import'];

/**
 * On-disk format of a volume. `subvol` is a directory/dataset for a container rootfs; `iso`,
 * `tgz`... are used for the files of non-guest content; `ova` and `ovf` for import sources
 * (content `import`), and `ova+qcow2`, `ova+raw`, `ova+vmdk` for a disk image inside an OVA
 * archive (`import/<name>.ova/<disk>.vmdk`, as Proxmox's `parse_volname` names them).
 */
export type VolumeFormat =
  | 'raw'
  | 'qcow2'
  | 'vmdk'
  | 'subvol'
  | 'iso'
  | 'tar'
  | 'tgz'
  | 'txz'
  | 'tzst'
  | 'vma'
  | 'file'
  | 'ova'
  | 'ovf'
  | 'ova+qcow2'
  | 'ova+raw'
  | 'ova+vmdk';

/** The state a volume is in when a feature is asked for. */
export type VolumeState = 'current' | 'snapshot' | 'base';

/**
 * Operations whose availability depends on the volume's state and format (Proxmox's
 * `volume_has_feature`): `snapshot` (take one), `rollback`, `clone` (linked clone from this
 * state), `template` (turn into a base), `copy` (full copy), `resize` (grow), `shrink`,
 * `rename`, `sparseinit` (allocation is thin).
 */
export type VolumeFeature = 'snapshot' | 'rollback' | 'clone' | 'template' | 'copy' | 'resize' | 'shrink' | 'rename' | 'sparseinit';

/**
 * For each feature and volume state: the formats for which it works. Absent means never.
 *
 * Example (dir): `{ snapshot: { current: ['qcow2'] }, clone: { base: ['qcow2'] } }`.
 */
export type VolumeFeatureMatrix = Partial<Record<VolumeFeature, Partial<Record<VolumeState, readonly VolumeFormat[]>>>>;

/**
 * Stream formats for export/import (Proxmox's `volume_export_formats`): `raw+size` is an
 * 8-byte little-endian size header followed by raw bytes and is the format every image-capable
 * driver must support, so that a full copy works between ANY two storages; `tar+size` is the
 * same for container rootfs; the others are backend-native (`qcow2+size`, `zfs` send
 * streams, `rbd-diff`).
 */
export type TransferFormat = 'raw+size' | 'tar+size' | 'qcow2+size' | 'zfs' | 'rbd-diff' | 'btrfs';

/** How a consumer reaches a volume. */
export type VolumeAccessKind = 'file' | 'block' | 'qemu' | 'directory';

/**
 * The capability record of a driver: data, checked by the facade before calling. Every field
 * is documented because third-party plugin authors read it.
 */
export interface StorageDriverInfo {
  /** Storage type id as Proxmox spells it (`dir`, `zfspool`, `rbd`...). */
  readonly type: string;
  /** One line for humans. */
  readonly description: string;
  /** Content types the driver can hold at all. */
  readonly contentTypes: readonly StorageContent[];
  /** Content used when a definition names none. */
  readonly defaultContent: readonly StorageContent[];
  /** Image formats the driver can allocate. */
  readonly formats: readonly VolumeFormat[];
  /** Format used when an allocation names none. */
  readonly defaultFormat: VolumeFormat;
  /** True when every node sees the same volumes (network storage); a definition may override for dir. */
  readonly shared: boolean;
  /** True when allocation is thin (space is used as data is written). */
  readonly thin: boolean;
  /**
   * False when the storage cannot make volumes: they exist outside Corral (the LUNs of an
   * iSCSI target, as Proxmox's ISCSIPlugin dies in `alloc_image`). The facade then refuses
   * `allocate` with `NotSupportedError` (operation `allocate`) before it checks space or calls
   * the driver; declare `importFormats: []` as well (an import makes a volume). `formats`
   * still names the formats of the volumes it holds.
   *
   * Optional (added after plugin API 3): absent means true, as every earlier driver either
   * allocated or refused in its own `allocate`.
   */
  readonly allocates?: boolean;
  /** What {@link VolumeOperations.resolve} can answer. */
  readonly accessKinds: readonly VolumeAccessKind[];
  /** Which operation works on which volume state and format. */
  readonly features: VolumeFeatureMatrix;
  /** Stream formats the driver can export, in order of preference. */
  readonly exportFormats: readonly TransferFormat[];
  /** Stream formats the driver can import. */
  readonly importFormats: readonly TransferFormat[];
  /** True when snapshots can be taken while a guest runs (the hypervisor then freezes the filesystem). */
  readonly liveSnapshots: boolean;
  /**
   * Typebox schema of the driver's own `storage.cfg` options (beyond the common `content`,
   * `nodes`, `disable`, `shared`). Values arrive as strings; the schema says which are allowed.
   */
  readonly optionsSchema: TObject;
  /**
   * Option names that are secrets (`password`, `keyring`...). The facade keeps them out of
   * storage.cfg, in a private file per storage (as Proxmox's `/etc/pve/priv/storage/`).
   */
  readonly secretOptions: readonly string[];
  /**
   * Option names whose values reach host root: host paths (`path`), host devices, host pools
   * or volume groups. Setting, changing or deleting one needs a privileged caller
   * (`PermissionError` otherwise), as Proxmox lets only `root@pam` point a storage at the host.
   *
   * Optional since plugin API 2 (added there; plugins written for API 1 do not declare it).
   * Absent means unknown, and unknown is privileged: every option of such a storage, common
   * options included, counts as privileged (see {@link privilegedOptionUses}). Declare
   * `[]` for a driver none of whose options reach host root.
   */
  readonly privilegedOptions?: readonly string[];
}

/** A storage definition as stored in storage.cfg, after common options are parsed. */
export interface StorageDefinition {
  /** Storage id (`local`, `tank`...). */
  readonly id: string;
  /** Storage type id. */
  readonly type: string;
  /** Content types enabled for this storage. */
  readonly content: readonly StorageContent[];
  /** Nodes that may use it (empty = all). */
  readonly nodes: readonly string[];
  /** Disabled storages are listed but not used. */
  readonly disabled: boolean;
  /** Whether volumes are visible on every node. */
  readonly shared: boolean;
  /** Every option as written in storage.cfg (strings), including the common ones. */
  readonly options: Readonly<Record<string, string>>;
}

/** What a driver gets with every call. */
export interface StorageContext {
  /** The storage being operated on. */
  readonly storage: StorageDefinition;
  /** Secret options from the private file (never in storage.cfg). */
  readonly secrets: Readonly<Record<string, string>>;
  /** The node this kernel runs as. */
  readonly node: string;
  /** Runs external programs (argv only). */
  readonly runner: CommandRunner;
  /** A private directory for this storage's run state (mount points, temporary files). */
  readonly runDir: string;
  /** Task or kernel logger. */
  readonly log: Logger;
  /** Cancels the operation. */
  readonly signal?: AbortSignal;
}

/** Usage of a storage. Sizes in bytes. */
export interface StorageStatus {
  readonly active: boolean;
  readonly totalBytes: number;
  readonly usedBytes: number;
  readonly availableBytes: number;
}

/** A volume name decoded by its driver (Proxmox's `parse_volname`). */
export interface ParsedVolname {
  /** The volume name as given. */
  readonly volname: string;
  /** Content type. */
  readonly content: StorageContent;
  /** Owning guest, when the name carries one. */
  readonly vmid?: number;
  /** The image/file name part (`vm-100-disk-0.qcow2`). */
  readonly name: string;
  readonly format: VolumeFormat;
  /** True for a template base (`base-...`). */
  readonly isBase: boolean;
  /** For a linked clone: the base volume name it depends on. */
  readonly baseVolname?: string;
}

/** One volume in a listing. */
export interface VolumeInfo {
  /** `storeid:volname`. */
  readonly volid: string;
  readonly volname: string;
  readonly content: StorageContent;
  readonly format: VolumeFormat;
  /** Virtual size in bytes. */
  readonly sizeBytes: number;
  /** Bytes actually used, when known. */
  readonly usedBytes?: number;
  readonly vmid?: number;
  readonly isBase: boolean;
  /** For a linked clone, the volid of its base. */
  readonly parent?: string;
  /** Creation time, seconds since the epoch, when known. */
  readonly ctime?: number;
}

/** One snapshot of a volume. */
export interface VolumeSnapshotInfo {
  readonly name: string;
  /** Creation time, seconds since the epoch, when known. */
  readonly ctime?: number;
}

/**
 * How QEMU should open a storage's volumes when the drive does not say (Proxmox decides these
 * by storage type: io_uring hangs on LVM and CIFS, and on krbd with the page cache; btrfs
 * without `nocow` defaults to the page cache). Absent fields mean QEMU's usual defaults.
 */
export interface QemuAccessHints {
  /** When the io_uring AIO backend is safe: `always` (default), `with-direct-io` (only with O_DIRECT), `never`. */
  readonly ioUring?: 'always' | 'with-direct-io' | 'never';
  /** The cache mode of a disk that names none: `none` (O_DIRECT, the default) or `writeback`. */
  readonly defaultCache?: 'none' | 'writeback';
}

/** What a consumer needs to reach a volume. */
export type VolumeAccess =
  /** A file (qcow2, raw, iso...). */
  | { readonly kind: 'file'; readonly path: string; readonly format: VolumeFormat; readonly qemuHints?: QemuAccessHints }
  /** A block device node. */
  | { readonly kind: 'block'; readonly path: string; readonly format: 'raw'; readonly qemuHints?: QemuAccessHints }
  /**
   * A QEMU protocol node: `blockdev` is the JSON for `-blockdev`/`blockdev-add` of the
   * protocol layer (driver `rbd`, `iscsi`, `nfs`, `gluster`...) without `node-name`; `url`
   * is the legacy filename form (`rbd:pool/img:conf=...`), for humans and `qemu-img`.
   */
  | { readonly kind: 'qemu'; readonly blockdev: Readonly<Record<string, unknown>>; readonly url: string; readonly format: VolumeFormat; readonly qemuHints?: QemuAccessHints }
  /** A directory (a container rootfs subvol, or a mounted filesystem). */
  | { readonly kind: 'directory'; readonly path: string };

/** Who asks for a volume; drivers answer the kind that fits. */
export type VolumeConsumer = 'host' | 'qemu' | 'container';

/** Options of {@link VolumeOperations.allocate}. */
export interface AllocateOptions {
  /** Owner guest id. */
  readonly vmid: number;
  /** Explicit name (`vm-100-disk-3`), validated; the facade picks the next free one otherwise. */
  readonly name: string;
  readonly format: VolumeFormat;
  /** Virtual size in bytes (for `subvol`: the quota, 0 = none). */
  readonly sizeBytes: number;
  readonly content: StorageContent;
}

/** The core volume operations every driver implements. */
export interface VolumeOperations {
  /** Decodes a volume name; throws `InvalidVolumeIdError` when it does not belong to this storage type. */
  parseVolname(ctx: StorageContext, volname: string): ParsedVolname;
  /** Makes the storage usable (mount, import pool, check daemon). Idempotent. Throws `UnavailableError`. */
  activate(ctx: StorageContext): Promise<void>;
  /** Undoes {@link activate}. Idempotent. */
  deactivate(ctx: StorageContext): Promise<void>;
  /** Usage figures; `active: false` when the backend is unreachable (never throws for that). */
  status(ctx: StorageContext): Promise<StorageStatus>;
  /** Lists volumes, optionally filtered. Order: by volname. */
  listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]>;
  /** Size, format and parent of one volume; throws `NotFoundError` (kind `volume`). */
  volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo>;
  /** Creates a volume; returns its volname. Throws `AlreadyExistsError`, `StorageFullError`. */
  allocate(ctx: StorageContext, options: AllocateOptions): Promise<string>;
  /** Deletes a volume and its snapshots. Throws `NotFoundError`, `ConflictError` (e.g. base still has clones). */
  free(ctx: StorageContext, volname: string): Promise<void>;
  /** Sets the virtual size in bytes (grow; shrink only where `features.shrink` says so). */
  resize(ctx: StorageContext, volname: string, options: { sizeBytes: number }): Promise<void>;
  /**
   * Makes the volume reachable for a consumer and says how. Idempotent; pair with
   * {@link deactivateVolume} where the driver maps or mounts something.
   */
  resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess>;
  /** Unmaps/unmounts what {@link resolve} set up. Idempotent. */
  deactivateVolume(ctx: StorageContext, volname: string, options: { snapshot?: string }): Promise<void>;
}

/** Volume snapshots (disk state only; the hypervisor adds RAM state). */
export interface SnapshotOperations {
  snapshotCreate(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void>;
  snapshotList(ctx: StorageContext, volname: string): Promise<VolumeSnapshotInfo[]>;
  /** Restores the volume's bytes to the snapshot. The guest must not be running. */
  snapshotRollback(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void>;
  snapshotDelete(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void>;
}

/** Templates and linked clones. */
export interface CloneOperations {
  /** Turns a volume into a read-only base; returns the new volname (`base-100-disk-0`...). */
  createBase(ctx: StorageContext, volname: string): Promise<string>;
  /**
   * Creates a thin copy-on-write clone of a base (or of a snapshot) for guest `vmid`, named
   * `name`; returns the new volname (for dir: `<basevmid>/base-...qcow2/<vmid>/vm-...qcow2`).
   */
  cloneLinked(ctx: StorageContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string>;
}

/** Streams for full copies, backup and migration across backend types. */
export interface TransferOperations {
  /** Writes the volume (or a snapshot of it) to `stream` in `format`. */
  exportVolume(
    ctx: StorageContext,
    volname: string,
    options: { format: TransferFormat; stream: Writable; snapshot?: string },
  ): Promise<void>;
  /**
   * Creates volume `options.name` from `stream` in `format`; returns its volname. Called
   * without the storage lock (`storage:<id>`): the facade has reserved `options.name` for this
   * call, so no other Corral operation creates that name meanwhile, while allocations of other
   * names go on. Throws `AlreadyExistsError` when the name is taken (the facade then frees
   * nothing); after any other error the facade frees the volume of that name, if any.
   */
  importVolume(ctx: StorageContext, options: ImportVolumeOptions): Promise<string>;
}

/** What {@link TransferOperations.importVolume} gets: the stream, its format, and the volume to make of it. */
export interface ImportVolumeOptions {
  /** The stream's format (one of the driver's `importFormats`). */
  readonly format: TransferFormat;
  readonly stream: Readable;
  /** Owner guest of the new volume. */
  readonly vmid: number;
  /** The new volume's name, reserved by the facade (`vm-100-disk-3`). */
  readonly name: string;
  readonly content: StorageContent;
  /** The new volume's format (`raw`, `qcow2`, `subvol`...). */
  readonly volumeFormat: VolumeFormat;
}

/** Plain files of non-guest content (iso, vztmpl, snippets, backup). */
export interface FileContentOperations {
  /**
   * Stores `stream` as `filename` of `content`; returns the volname (`iso/x.iso`...). Called
   * without the storage lock; the facade has reserved the file name for this call.
   */
  uploadFile(ctx: StorageContext, options: { content: StorageContent; filename: string; stream: Readable }): Promise<string>;
}

/** Options of {@link StorageDriver.copyVolume}. */
export interface CopyVolumeWithinOptions {
  /** Owner guest id of the new volume. */
  readonly vmid: number;
  /** Name of the new volume (`vm-101-disk-0`), chosen and reserved by the facade. */
  readonly name: string;
  /** Copy this snapshot's state instead of the current one. */
  readonly snapshot?: string;
}

/** A storage driver: the capability record plus every operation group. */
export interface StorageDriver extends VolumeOperations, SnapshotOperations, CloneOperations, TransferOperations, FileContentOperations {
  /** The type-level capability record (what every storage of this type can do). */
  readonly info: StorageDriverInfo;
  /**
   * The capability record of one storage: what its definition allows (Proxmox's
   * `volume_has_feature` sees the storage config: a zfspool with `sparse` is thin, a btrfs
   * without quotas cannot size container volumes). Pure, no I/O; called by the facade for every
   * operation on that storage, so keep it cheap.
   *
   * The facade reads `features`, `formats`, `defaultFormat`, `thin`, `accessKinds`,
   * `exportFormats`, `importFormats` and `liveSnapshots` from the answer; the type-level fields
   * (`type`, `contentTypes`, `defaultContent`, `shared`, `optionsSchema`, `secretOptions`,
   * `privilegedOptions`) always from {@link info}, because they are needed before a definition
   * exists. Return `info` itself, or a copy with fields narrowed or widened.
   *
   * Optional since plugin API 3. Absent: {@link info} for every storage (see
   * {@link storageInfoFor}).
   */
  infoFor?(definition: StorageDefinition): StorageDriverInfo;
  /**
   * Full copy of `volname` (or of its snapshot `options.snapshot`) into a new volume
   * `options.name` of guest `options.vmid` on the SAME storage, in the source's format, without
   * streaming the bytes through Corral: a reflink, a snapshot and clone, a local send/receive.
   * Returns the new volname. The new volume must be independent of the source (freeing either
   * leaves the other intact) and hold the same bytes.
   *
   * Called by `kernel.storage.copy` when source and target are the same storage and the copy
   * keeps the format, after the `copy` feature was checked. Like {@link
   * TransferOperations.importVolume} it runs without the storage lock (`storage:<id>`), under
   * the facade's reservation of `options.name`; `ctx.signal` also aborts when the reservation is
   * lost. Throw `NotSupportedError` BEFORE creating anything for a volume this hook cannot copy
   * (a format, a snapshot): the facade then streams the copy through
   * `exportVolume`/`importVolume` instead. `AlreadyExistsError` when the name is taken (the
   * facade frees nothing); after any other error the facade frees the volume of that name, if
   * any.
   *
   * Optional since plugin API 3. Absent: copies within a storage stream through
   * export/import, as between storages.
   */
  copyVolume?(ctx: StorageContext, volname: string, options: CopyVolumeWithinOptions): Promise<string>;
  /**
   * Checks driver-specific consistency of a definition beyond the schema (e.g. `pool`
   * exists). Throws `InvalidConfigError` naming the option.
   */
  checkDefinition?(ctx: StorageContext): Promise<void>;
  /**
   * Root-equivalent uses of a definition that depend on values or on absent options, beyond
   * {@link StorageDriverInfo.privilegedOptions} (e.g. an rbd storage without a `keyring` uses
   * the host's own Ceph credentials). `options` holds every option of the definition being
   * written, secrets included. Pure, no I/O.
   */
  privilegedUses?(options: Readonly<Record<string, string>>): PrivilegedUse[];
}

/**
 * The capability record of storage `definition` as its driver declares it: the driver's
 * {@link StorageDriver.infoFor} answer, or its type-level {@link StorageDriver.info} when it has
 * none (plugins written for API 1 and 2).
 */
export function storageInfoFor(driver: StorageDriver, definition: StorageDefinition): StorageDriverInfo {
  return driver.infoFor?.(definition) ?? driver.info;
}

/**
 * True when `features[feature][state]` lists `format`.
 */
export function hasVolumeFeature(info: StorageDriverInfo, feature: VolumeFeature, state: VolumeState, format: VolumeFormat): boolean {
  return info.features[feature]?.[state]?.includes(format) ?? false;
}
