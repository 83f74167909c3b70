/**
 * `-blockdev` graphs for drives, in qemu-server's shape (its `-blockdev` layout of machine
 * version 10.0): a throttle node on top, bound to the drive's own throttle group (empty limits
 * when the drive has none, so limits can be set live), a format node, and a protocol node
 * (file, host_device, host_cdrom, or the storage's own QEMU protocol node: rbd, iscsi, nfs,
 * gluster...). The graph is one nested `-blockdev` (children inline, owned by the top node):
 * deleting the top node removes the whole graph.
 *
 * Node names are fixed per config key so that snapshots, hotplug and re-attach can find them:
 * `drive-<key>` (the top node devices attach to, as qemu-server names it), `fmt-<key>` (format:
 * the node internal snapshots live on), `file-<key>` (protocol). The throttle group is
 * `throttle-drive-<key>`.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, type QemuAccessHints, type QemuDrive, type VolumeAccess } from '@corral/core';

/** One `-blockdev` (or `blockdev-add`) argument. */
export type BlockdevOptions = Record<string, unknown>;

/** The block graph of one drive. */
export interface QemuBlockGraph {
  /** The `-blockdev` / `blockdev-add` argument: the top node with its children inline. */
  readonly blockdev: BlockdevOptions;
  /** The format node's name (`fmt-<key>`): where internal snapshots are. */
  readonly formatNode: string;
  /** The node the device attaches to (`drive-<key>`). */
  readonly top: string;
  /** The `throttle-group` object (`-object` / `object-add`), absent with `throttle: false`. Add it before the graph. */
  readonly throttleGroup?: Record<string, unknown> & { readonly id: string };
  /** Device properties the cache mode needs (`write-cache`). */
  readonly deviceProps: Readonly<Record<string, string>>;
}

/** Access to the host CD-ROM drive (`ideN: cdrom,media=cdrom`). */
export const HOST_CDROM_ACCESS = { kind: 'block', path: '/dev/cdrom', format: 'raw', hostCdrom: true } as const;

/** What {@link qemuBlockGraph} needs of a drive: the parsed fields, possibly partial (efidisk). */
export type BlockDriveFields = Partial<Pick<QemuDrive, 'cache' | 'aio' | 'discard' | 'detect_zeroes' | 'ro' | 'media' | 'format'>> &
  Partial<Pick<QemuDrive, 'bps' | 'bps_rd' | 'bps_wr' | 'mbps' | 'mbps_rd' | 'mbps_wr' | 'iops' | 'iops_rd' | 'iops_wr'>> &
  Partial<Pick<QemuDrive, 'mbps_max' | 'mbps_rd_max' | 'mbps_wr_max' | 'iops_max' | 'iops_rd_max' | 'iops_wr_max'>> &
  Partial<Pick<QemuDrive, 'bps_max_length' | 'bps_rd_max_length' | 'bps_wr_max_length' | 'iops_max_length' | 'iops_rd_max_length' | 'iops_wr_max_length'>>;

/** Options of {@link qemuBlockGraph}. */
export interface BlockGraphOptions {
  /** Put the throttle node and group on top (default true; false for internal nodes such as a RAM state volume). */
  readonly throttle?: boolean;
  /** Open read-only whatever the drive says (templates: their volumes are base images). */
  readonly readOnly?: boolean;
  /** Fixed size of a raw image in bytes (the OVMF variables of an efidisk on a larger volume). */
  readonly rawSize?: number;
}

/** Names of the nodes of drive `key`: protocol (`file-<key>`), format (`fmt-<key>`), top (`drive-<key>`), and its throttle group. */
export function blockNodeNames(key: string): { readonly fileNode: string; readonly formatNode: string; readonly topNode: string; readonly throttleGroup: string } {
  return { fileNode: `file-${key}`, formatNode: `fmt-${key}`, topNode: `drive-${key}`, throttleGroup: `throttle-drive-${key}` };
}

/**
 * The blockdev graph of drive `key` on `access`.
 *
 * Cache modes follow qemu-server: `none` (the default for disks, unless the storage's
 * {@link QemuAccessHints.defaultCache} says otherwise) is O_DIRECT with flushes, `writeback`
 * the page cache, `writethrough` and `directsync` turn the device's write cache off, `unsafe`
 * ignores flushes. CD-ROMs default to the page cache, are read-only and have no discard or
 * zero detection. AIO defaults to io_uring, or where the storage says io_uring is unsafe to
 * `native` with O_DIRECT and `threads` without.
 *
 * @throws InvalidConfigError (naming `key`) when the volume's format cannot be opened by QEMU
 *   (`subvol`, archives) or `aio=native` is asked without O_DIRECT.
 */
export function qemuBlockGraph(key: string, drive: BlockDriveFields, access: VolumeAccess | typeof HOST_CDROM_ACCESS, options: BlockGraphOptions = {}): QemuBlockGraph {
  const cdrom = drive.media === 'cdrom';
  const readOnly = cdrom || drive.ro === true || options.readOnly === true;
  const hints: QemuAccessHints = ('qemuHints' in access ? access.qemuHints : undefined) ?? {};
  const mode = drive.cache ?? (cdrom ? 'writeback' : (hints.defaultCache ?? 'none'));
  const direct = mode === 'none' || mode === 'directsync';
  const cache = { direct, 'no-flush': mode === 'unsafe' };
  const deviceProps: Record<string, string> = {};
  if (mode === 'writethrough' || mode === 'directsync') deviceProps['write-cache'] = 'off';
  if (drive.aio === 'native' && !direct) {
    throw new InvalidConfigError(key, drive.aio, `invalid value for '${key}': aio=native needs cache=none or cache=directsync`);
  }
  // Options qemu-server sets on every node of the chain.
  const common: BlockdevOptions = { 'read-only': readOnly };
  if (!cdrom) {
    common.discard = drive.discard === 'on' ? 'unmap' : 'ignore';
    common['detect-zeroes'] = drive.detect_zeroes === false ? 'off' : drive.discard === 'on' ? 'unmap' : 'on';
  }
  const names = blockNodeNames(key);
  let protocol: BlockdevOptions;
  let format: string;
  if (access.kind === 'qemu') {
    protocol = { ...access.blockdev, cache };
    format = access.format;
  } else if (access.kind === 'file' || access.kind === 'block') {
    const driver = 'hostCdrom' in access ? 'host_cdrom' : access.kind === 'block' ? (cdrom ? 'host_cdrom' : 'host_device') : 'file';
    const ioUring = hints.ioUring === 'never' ? false : hints.ioUring === 'with-direct-io' ? direct : true;
    protocol = { driver, filename: access.path, cache, aio: drive.aio ?? (ioUring ? 'io_uring' : direct ? 'native' : 'threads') };
    format = access.format;
  } else {
    throw new InvalidConfigError(key, access.path, `'${key}': a directory cannot be a VM disk`);
  }
  Object.assign(protocol, { 'node-name': names.fileNode }, common);
  // A drive's own format= wins only for paths (volumes know their format).
  if (drive.format && (format === 'raw' || format === 'file')) format = drive.format;
  if (format === 'iso' || format === 'file') format = 'raw';
  if (!['raw', 'qcow2', 'vmdk', 'qed', 'qcow', 'cloop'].includes(format)) {
    throw new InvalidConfigError(key, format, `'${key}': QEMU cannot use a volume of format '${format}' as a drive`);
  }
  const fmt: BlockdevOptions = { driver: format, 'node-name': names.formatNode, file: protocol, cache, ...common };
  if (options.rawSize !== undefined && format === 'raw') fmt.size = options.rawSize;
  if (options.throttle === false) return { blockdev: fmt, formatNode: names.formatNode, top: names.formatNode, deviceProps };
  const throttleGroup = { 'qom-type': 'throttle-group', id: names.throttleGroup, limits: throttleLimits(drive) ?? {} };
  const blockdev: BlockdevOptions = { driver: 'throttle', 'node-name': names.topNode, 'throttle-group': names.throttleGroup, file: fmt, ...common };
  return { blockdev, formatNode: names.formatNode, top: names.topNode, throttleGroup, deviceProps };
}

const MiB = 1024 * 1024;

/** QEMU throttle limits from qemu-server's fields (`mbps` in MiB/s, `bps` in bytes/s), or undefined without any. */
export function throttleLimits(drive: BlockDriveFields): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  const set = (name: string, value: number | undefined, scale = 1): void => {
    if (value !== undefined && value > 0) out[name] = Math.trunc(value * scale);
  };
  set('bps-total', drive.bps);
  set('bps-read', drive.bps_rd);
  set('bps-write', drive.bps_wr);
  set('bps-total', drive.mbps, MiB);
  set('bps-read', drive.mbps_rd, MiB);
  set('bps-write', drive.mbps_wr, MiB);
  set('bps-total-max', drive.mbps_max, MiB);
  set('bps-read-max', drive.mbps_rd_max, MiB);
  set('bps-write-max', drive.mbps_wr_max, MiB);
  set('iops-total', drive.iops);
  set('iops-read', drive.iops_rd);
  set('iops-write', drive.iops_wr);
  set('iops-total-max', drive.iops_max);
  set('iops-read-max', drive.iops_rd_max);
  set('iops-write-max', drive.iops_wr_max);
  set('bps-total-max-length', drive.bps_max_length);
  set('bps-read-max-length', drive.bps_rd_max_length);
  set('bps-write-max-length', drive.bps_wr_max_length);
  set('iops-total-max-length', drive.iops_max_length);
  set('iops-read-max-length', drive.iops_rd_max_length);
  set('iops-write-max-length', drive.iops_wr_max_length);
  return Object.keys(out).length > 0 ? out : undefined;
}
