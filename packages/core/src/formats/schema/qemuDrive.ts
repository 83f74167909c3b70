/**
 * VM disks and CD-ROM drives: `ideN`, `sataN`, `scsiN`, `virtioN`, `efidisk0`, `tpmstate0`
 * and `unusedN`, as defined in qemu-server's `PVE::QemuServer::Drive`.
 *
 * ```text
 * scsi0: local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=32G
 * ide2: local:iso/debian-12.iso,media=cdrom,size=628M
 * ide2: none,media=cdrom
 * efidisk0: local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M
 * ```
 *
 * @packageDocumentation
 */
import { Type, type Static, type TProperties } from '@sinclair/typebox';
import { InvalidConfigError } from '../../errors.js';
import { Flag, VolumeIdString } from './commonFields.js';
import { Enum, Int, Num, Size, Str, definePropertyString } from './valueSchema.js';

/** Drive interfaces and how many drives of each a VM may have. */
export const QEMU_DRIVE_INTERFACES = { ide: 4, sata: 6, scsi: 31, virtio: 16 } as const;

/** A drive interface (`efidisk`/`tpmstate` for `efidisk0`/`tpmstate0`). */
export type QemuDriveInterface = keyof typeof QEMU_DRIVE_INTERFACES | 'efidisk' | 'tpmstate';

const opt = Type.Optional;

const throttle = {
  bps: opt(Int()),
  bps_rd: opt(Int()),
  bps_wr: opt(Int()),
  mbps: opt(Num()),
  mbps_rd: opt(Num()),
  mbps_wr: opt(Num()),
  iops: opt(Int()),
  iops_rd: opt(Int()),
  iops_wr: opt(Int()),
  mbps_max: opt(Num()),
  mbps_rd_max: opt(Num()),
  mbps_wr_max: opt(Num()),
  iops_max: opt(Int()),
  iops_rd_max: opt(Int()),
  iops_wr_max: opt(Int()),
  bps_max_length: opt(Int({ minimum: 1 })),
  bps_rd_max_length: opt(Int({ minimum: 1 })),
  bps_wr_max_length: opt(Int({ minimum: 1 })),
  iops_max_length: opt(Int({ minimum: 1 })),
  iops_rd_max_length: opt(Int({ minimum: 1 })),
  iops_wr_max_length: opt(Int({ minimum: 1 })),
};

/** The drive's backing volume: a volume id, an absolute path, `none` (empty) or `cdrom` (host drive). */
const DriveFile = () => Str({ pveFormat: 'volume-id-or-qm-path' });
const ImageFormat = () => opt(Enum(['raw', 'qcow', 'qed', 'qcow2', 'vmdk', 'cloop']));

const driveBase = {
  file: DriveFile(),
  media: opt(Enum(['cdrom', 'disk'])),
  cyls: opt(Int()),
  heads: opt(Int()),
  secs: opt(Int()),
  trans: opt(Enum(['none', 'lba', 'auto'])),
  snapshot: Flag(),
  cache: opt(Enum(['none', 'writethrough', 'writeback', 'unsafe', 'directsync'])),
  format: ImageFormat(),
  size: opt(Size()),
  backup: Flag(),
  replicate: Flag(),
  rerror: opt(Enum(['ignore', 'report', 'stop'])),
  werror: opt(Enum(['enospc', 'ignore', 'report', 'stop'])),
  aio: opt(Enum(['native', 'threads', 'io_uring'])),
  discard: opt(Enum(['ignore', 'on'])),
  detect_zeroes: Flag(),
  serial: opt(Str({ pveFormat: 'urlencoded', maxLength: 60 })),
  shared: Flag(),
  ...throttle,
};

const driveAliases = {
  volume: { alias: 'file' },
  bps_rd_length: { alias: 'bps_rd_max_length' },
  bps_wr_length: { alias: 'bps_wr_max_length' },
  iops_rd_length: { alias: 'iops_rd_max_length' },
  iops_wr_length: { alias: 'iops_wr_max_length' },
};

const iothread = { iothread: Flag() };
const model = { model: opt(Str({ pveFormat: 'urlencoded', maxLength: 120 })) };
const product = { product: opt(Str({ pattern: '[A-Za-z0-9\\-_\\s]{0,16}', pveMessage: 'must be at most 16 letters, digits, -, _ or spaces' })) };
const vendor = { vendor: opt(Str({ pattern: '[A-Za-z0-9\\-_\\s]{0,8}', pveMessage: 'must be at most 8 letters, digits, -, _ or spaces' })) };
const queues = { queues: opt(Int({ minimum: 2 })) };
const ro = { ro: Flag() };
const scsiblock = { scsiblock: Flag() };
const ssd = { ssd: Flag() };
const wwn = { wwn: opt(Str({ pattern: '0x[0-9a-fA-F]{16}', pveMessage: "must be '0x' and 16 hex digits" })) };

/** Every field a drive can have (the union over interfaces), typed. */
const allDriveFields = {
  ...driveBase,
  ...iothread,
  ...model,
  ...product,
  ...queues,
  ...ro,
  ...scsiblock,
  ...ssd,
  ...vendor,
  ...wwn,
  efitype: opt(Enum(['2m', '4m'])),
  'pre-enrolled-keys': Flag(),
  'ms-cert': opt(Enum(['2011', '2023', '2023w'])),
  version: opt(Enum(['v1.2', 'v2.0'])),
};

/** Checks qemu-server's `parse_drive` makes beyond the schema. */
function refineDrive(drive: Record<string, unknown>, iface: string): string | undefined {
  for (const opt of ['bps', 'bps_rd', 'bps_wr']) {
    if (drive[opt] !== undefined && drive[`m${opt}`] !== undefined) return `both ${opt} and m${opt} are given`;
  }
  const requirements: Array<[string, string]> = [
    ['mbps_max', 'mbps'],
    ['mbps_rd_max', 'mbps_rd'],
    ['mbps_wr_max', 'mbps_wr'],
    ['bps_max_length', 'mbps_max'],
    ['bps_rd_max_length', 'mbps_rd_max'],
    ['bps_wr_max_length', 'mbps_wr_max'],
    ['iops_max_length', 'iops_max'],
    ['iops_rd_max_length', 'iops_rd_max'],
    ['iops_wr_max_length', 'iops_wr_max'],
  ];
  for (const [option, requires] of requirements) {
    if (drive[option] && !drive[requires]) return `${option} requires ${requires}`;
  }
  if (drive.mbps && (drive.mbps_rd || drive.mbps_wr)) return 'mbps cannot be combined with mbps_rd or mbps_wr';
  if (drive.iops && (drive.iops_rd || drive.iops_wr)) return 'iops cannot be combined with iops_rd or iops_wr';
  if (drive.media === 'cdrom') {
    if (iface === 'virtio') return 'virtio drives cannot be CD-ROMs (media=cdrom)';
    for (const f of ['snapshot', 'trans', 'format', 'heads', 'secs', 'cyls']) {
      if (drive[f]) return `a CD-ROM drive (media=cdrom) cannot have '${f}'`;
    }
  }
  return undefined;
}

function driveFormat<P extends TProperties>(name: string, iface: string, properties: P) {
  return definePropertyString<P>({
    name,
    defaultKey: 'file',
    aliases: driveAliases,
    properties,
    refine: (v) => refineDrive(v as Record<string, unknown>, iface),
  });
}

/** `ideN` (N 0..3). */
export const qemuIdeFormat = driveFormat('qemu ide drive', 'ide', { ...driveBase, ...model, ...ssd, ...wwn });
/** `sataN` (N 0..5). */
export const qemuSataFormat = driveFormat('qemu sata drive', 'sata', { ...driveBase, ...ssd, ...wwn });
/** `scsiN` (N 0..30). */
export const qemuScsiFormat = driveFormat('qemu scsi drive', 'scsi', {
  ...driveBase,
  ...iothread,
  ...product,
  ...queues,
  ...ro,
  ...scsiblock,
  ...ssd,
  ...vendor,
  ...wwn,
});
/** `virtioN` (N 0..15). */
export const qemuVirtioFormat = driveFormat('qemu virtio drive', 'virtio', { ...driveBase, ...iothread, ...ro });

/** `efidisk0`: the disk holding the OVMF EFI variables. */
export const qemuEfidiskFormat = definePropertyString({
  name: 'qemu efidisk',
  defaultKey: 'file',
  aliases: { volume: { alias: 'file' } },
  properties: {
    file: DriveFile(),
    format: ImageFormat(),
    size: opt(Size()),
    efitype: opt(Enum(['2m', '4m'])),
    'pre-enrolled-keys': Flag(),
    'ms-cert': opt(Enum(['2011', '2023', '2023w'])),
  },
});

/** `tpmstate0`: the disk holding the TPM state. */
export const qemuTpmstateFormat = definePropertyString({
  name: 'qemu tpmstate',
  defaultKey: 'file',
  aliases: { volume: { alias: 'file' } },
  properties: {
    file: DriveFile(),
    size: opt(Size()),
    version: opt(Enum(['v1.2', 'v2.0'])),
  },
});

/** `unusedN`: a volume that belongs to the VM but is not attached. */
export const qemuUnusedFormat = definePropertyString({
  name: 'qemu unused volume',
  defaultKey: 'file',
  aliases: { volume: { alias: 'file' } },
  properties: { file: VolumeIdString() },
});

/**
 * TypeBox schema of every field a drive can have: the union over the `ide`, `sata`, `scsi`,
 * `virtio`, `efidisk` and `tpmstate` formats (`file` required, every other field optional).
 * It is the shape of {@link QemuDrive} without `interface` and `index`; which
 * fields a given key accepts is checked by that key's format (e.g. {@link qemuScsiFormat}).
 */
export const qemuDriveSchema = Type.Object(allDriveFields);

/**
 * A parsed drive. Field names and meanings are qemu-server's; `size` is in bytes, booleans are
 * booleans. `interface` and `index` come from the config key (`scsi1` → `scsi`, 1) and are
 * not printed.
 */
export type QemuDrive = Static<typeof qemuDriveSchema> & {
  interface: QemuDriveInterface;
  index: number;
};

/** Fields of a drive as given to {@link printQemuDrive} (`interface` and `index` are ignored). */
export type QemuDriveFields = Static<typeof qemuDriveSchema> & { interface?: QemuDriveInterface; index?: number };

/** Options naming the config key of a drive. */
export interface QemuDriveOptions {
  /** The config key: `ide0`..`ide3`, `sata0`..`sata5`, `scsi0`..`scsi30`, `virtio0`..`virtio15`, `efidisk0`, `tpmstate0`. */
  readonly key: string;
}

function driveSpecFor(key: string): { iface: QemuDriveInterface; index: number; spec: { parse(raw: string, key: string): unknown; print(value: never, key: string): string } } {
  if (key === 'efidisk0') return { iface: 'efidisk', index: 0, spec: qemuEfidiskFormat };
  if (key === 'tpmstate0') return { iface: 'tpmstate', index: 0, spec: qemuTpmstateFormat };
  const match = /^(ide|sata|scsi|virtio)(\d+)$/.exec(key);
  const iface = match?.[1] as keyof typeof QEMU_DRIVE_INTERFACES | undefined;
  if (match && iface && String(Number(match[2])) === match[2] && Number(match[2]) < QEMU_DRIVE_INTERFACES[iface]) {
    const spec = { ide: qemuIdeFormat, sata: qemuSataFormat, scsi: qemuScsiFormat, virtio: qemuVirtioFormat }[iface];
    return { iface, index: Number(match[2]), spec };
  }
  throw new InvalidConfigError(
    key,
    undefined,
    `'${key}' is not a drive key (ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, tpmstate0)`,
  );
}

/**
 * Parses the value of a drive key.
 *
 * ```ts
 * parseQemuDrive('local-lvm:vm-100-disk-0,iothread=1,size=32G', { key: 'scsi0' })
 * // { file: 'local-lvm:vm-100-disk-0', iothread: true, size: 34359738368, interface: 'scsi', index: 0 }
 * ```
 *
 * @throws InvalidConfigError naming the key and value for an unknown drive key, a field the
 *   interface does not have, a malformed value (size, enum, volume id...), or a combination
 *   qemu-server refuses (a CD-ROM with `format=`, `mbps` with `mbps_rd`...).
 */
export function parseQemuDrive(value: string, options: QemuDriveOptions): QemuDrive {
  const { iface, index, spec } = driveSpecFor(options.key);
  const fields = spec.parse(value, options.key) as Static<typeof qemuDriveSchema>;
  return { ...fields, interface: iface, index };
}

/**
 * Prints a drive as qemu-server writes it (`file` first, then the other fields sorted).
 *
 * @throws InvalidConfigError naming the key for a field the interface does not have or an invalid value.
 */
export function printQemuDrive(drive: QemuDriveFields, options: QemuDriveOptions): string {
  const { spec } = driveSpecFor(options.key);
  const { interface: _iface, index: _index, ...fields } = drive;
  return spec.print(fields as never, options.key);
}

/** True when the drive is a CD-ROM (`media=cdrom`), as qemu-server's `drive_is_cdrom`. */
export function isCdrom(drive: Pick<QemuDriveFields, 'media'>): boolean {
  return drive.media === 'cdrom';
}
