/**
 * `-blockdev` graphs for drives: a protocol node (file, host_device, host_cdrom, or the
 * storage's own QEMU protocol node: rbd, iscsi, nfs, gluster...), a format node on top of it,
 * and, when the drive has I/O limits, a throttle node on top of that.
 *
 * Node names are fixed per config key so that snapshots, hotplug and re-attach can find them:
 * `file-<key>` (protocol), `drive-<key>` (format: the node snapshots and `query-named-block-nodes`
 * talk about), `throttle-<key>` (only with limits). The node a device attaches to is
 * {@link QemuBlockGraph.top}.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, type QemuDrive, type VolumeAccess } from '@corral/core';

/** One `-blockdev` (or `blockdev-add`) argument. */
export type BlockdevOptions = Record<string, unknown>;

/** The nodes of one drive, bottom first, plus its throttle group object. */
export interface QemuBlockGraph {
  /** `blockdev-add` arguments, bottom (protocol) first. */
  readonly nodes: readonly BlockdevOptions[];
  /** The format node's name (`drive-<key>`). */
  readonly formatNode: string;
  /** The node the device attaches to. */
  readonly top: string;
  /** A `throttle-group` object (`-object` / `object-add`), when the drive has limits. */
  readonly throttleGroup?: Record<string, unknown>;
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

/** Names of the protocol (`file-<key>`) and format (`drive-<key>`) nodes of drive `key`. */
export function blockNodeNames(key: string): { readonly fileNode: string; readonly formatNode: string } {
  return { fileNode: `file-${key}`, formatNode: `drive-${key}` };
}

/**
 * The blockdev graph of drive `key` on `access`.
 *
 * Cache modes follow qemu-server: `none` (the default for disks) is O_DIRECT with flushes,
 * `writeback` the page cache, `writethrough` and `directsync` turn the device's write cache
 * off, `unsafe` ignores flushes. CD-ROMs default to the page cache and are read-only.
 *
 * @throws InvalidConfigError (naming `key`) when the volume's format cannot be opened by QEMU
 *   (`subvol`, archives) or `aio=native` is asked without O_DIRECT.
 */
export function qemuBlockGraph(key: string, drive: BlockDriveFields, access: VolumeAccess | typeof HOST_CDROM_ACCESS): QemuBlockGraph {
  const cdrom = drive.media === 'cdrom';
  const readOnly = cdrom || drive.ro === true;
  const mode = drive.cache ?? (cdrom ? 'writeback' : 'none');
  const direct = mode === 'none' || mode === 'directsync';
  const cache = { direct, 'no-flush': mode === 'unsafe' };
  const deviceProps: Record<string, string> = {};
  if (mode === 'writethrough' || mode === 'directsync') deviceProps['write-cache'] = 'off';
  const discard = drive.discard === 'on' ? 'unmap' : 'ignore';
  const detectZeroes = drive.detect_zeroes === false ? 'off' : discard === 'unmap' ? 'unmap' : 'on';
  if (drive.aio === 'native' && !direct) {
    throw new InvalidConfigError(key, drive.aio, `invalid value for '${key}': aio=native needs cache=none or cache=directsync`);
  }
  const { fileNode, formatNode } = blockNodeNames(key);
  let protocol: BlockdevOptions;
  let format: string;
  if (access.kind === 'qemu') {
    protocol = { ...access.blockdev, 'node-name': fileNode, cache, 'read-only': readOnly };
    if (!readOnly) protocol.discard = discard;
    format = access.format;
  } else if (access.kind === 'file' || access.kind === 'block') {
    const driver = 'hostCdrom' in access ? 'host_cdrom' : access.kind === 'block' ? 'host_device' : 'file';
    protocol = { driver, filename: access.path, 'node-name': fileNode, cache, 'read-only': readOnly };
    if (!readOnly) protocol.discard = discard;
    if (drive.aio) protocol.aio = drive.aio;
    format = access.format;
  } else {
    throw new InvalidConfigError(key, access.path, `'${key}': a directory cannot be a VM disk`);
  }
  // A drive's own format= wins only for paths (volumes know their format).
  if (drive.format && (format === 'raw' || format === 'file')) format = drive.format;
  if (format === 'iso' || format === 'file') format = 'raw';
  if (!['raw', 'qcow2', 'vmdk', 'qed', 'qcow', 'cloop'].includes(format)) {
    throw new InvalidConfigError(key, format, `'${key}': QEMU cannot use a volume of format '${format}' as a drive`);
  }
  const fmt: BlockdevOptions = { driver: format, 'node-name': formatNode, file: fileNode, cache, 'read-only': readOnly };
  if (!readOnly) {
    fmt.discard = discard;
    fmt['detect-zeroes'] = detectZeroes;
  }
  const nodes: BlockdevOptions[] = [protocol, fmt];
  const limits = throttleLimits(drive);
  if (limits) {
    const group = `throttle-${key}`;
    nodes.push({ driver: 'throttle', 'node-name': group, 'throttle-group': group, file: formatNode });
    return { nodes, formatNode, top: group, throttleGroup: { 'qom-type': 'throttle-group', id: group, limits }, deviceProps };
  }
  return { nodes, formatNode, top: formatNode, deviceProps };
}

const MiB = 1024 * 1024;

/** QEMU throttle limits from qemu-server's fields (`mbps` in MiB/s, `bps` in bytes/s), or undefined without any. */
export function throttleLimits(drive: BlockDriveFields): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  const set = (name: string, value: number | undefined, scale = 1): void => {
    if (value !== undefined && value > 0) out[name] = Math.round(value * scale);
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
