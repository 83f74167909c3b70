/**
 * The keys of a VM config (qemu-server's `$confdesc`) with their typed schemas, and
 * {@link validateQemuConfig}.
 *
 * @packageDocumentation
 */
import type { PendingDeletion } from '../configEntries.js';
import { Digest, QEMU_LOCKS, SNAPSTATES, SnapshotName, VolumeIdString, startupFormat } from './commonFields.js';
import {
  lookupKeySpec,
  pendingDeleteHook,
  validateEntries,
  type ConfigEntriesInput,
  type GuestKeyTable,
  type TableValues,
  type ValidateGuestConfigOptions,
} from './guestKeyTable.js';
import { qemuEfidiskFormat, qemuIdeFormat, qemuSataFormat, qemuScsiFormat, qemuTpmstateFormat, qemuUnusedFormat, qemuVirtioFormat } from './qemuDrive.js';
import { qemuNetFormat } from './qemuNet.js';
import {
  qemuAgentFormat,
  qemuAudioFormat,
  qemuBootFormat,
  qemuCicustomFormat,
  qemuCpuFormat,
  qemuHostpciFormat,
  qemuIpconfigFormat,
  qemuIvshmemFormat,
  qemuMachineFormat,
  qemuMemoryFormat,
  qemuMetaFormat,
  qemuNumaFormat,
  qemuRngFormat,
  qemuSmbios1Format,
  qemuSpiceEnhancementsFormat,
  qemuUsbFormat,
  qemuVgaFormat,
  qemuWatchdogFormat,
} from './qemuOptions.js';
import { Bool, Enum, Int, Num, Str, propertyKey, scalarKey, type ConfigKeySpec } from './valueSchema.js';

/** Keyboard layouts QEMU's VNC server knows (`keyboard:`). */
export const QEMU_KEYBOARDS = [
  'de', 'de-ch', 'da', 'en-gb', 'en-us', 'es', 'fi', 'fr', 'fr-be', 'fr-ca', 'fr-ch', 'hu', 'is', 'it', 'ja', 'lt', 'mk', 'nl', 'no', 'pl', 'pt', 'pt-br', 'sv', 'sl', 'tr',
] as const;

/** Guest OS types (`ostype:`). */
export const QEMU_OSTYPES = ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'] as const;

/** SCSI controller models (`scsihw:`). */
export const QEMU_SCSIHW = ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'] as const;

const bool = () => scalarKey(Bool());

/** The keys of a VM config without an index, with their specs. */
export const QEMU_CONFIG_KEYS = {
  // identity and meta
  name: scalarKey(Str({ pveFormat: 'dns-name' })),
  description: scalarKey(Str({ maxLength: 8192 })),
  tags: scalarKey(Str({ pveFormat: 'tag-list' })),
  meta: propertyKey(qemuMetaFormat),
  vmgenid: scalarKey(Str({ pattern: '[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01]', pveMessage: "must be a UUID, '1' (generate) or '0' (off)" })),
  smbios1: propertyKey(qemuSmbios1Format),
  lock: scalarKey(Enum(QEMU_LOCKS)),
  protection: bool(),
  template: bool(),
  digest: scalarKey(Digest()),
  hookscript: scalarKey(VolumeIdString()),
  // start and stop
  onboot: bool(),
  autostart: bool(),
  startup: propertyKey(startupFormat),
  reboot: bool(),
  startdate: scalarKey(Str({ pattern: 'now|\\d{4}-\\d{1,2}-\\d{1,2}(?:T\\d{1,2}:\\d{1,2}:\\d{1,2})?', pveMessage: "must be 'now', YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS" })),
  // CPU
  sockets: scalarKey(Int({ minimum: 1 })),
  cores: scalarKey(Int({ minimum: 1 })),
  vcpus: scalarKey(Int({ minimum: 1 })),
  smp: scalarKey(Int({ minimum: 1 })),
  cpu: propertyKey(qemuCpuFormat),
  cpulimit: scalarKey(Num({ minimum: 0, maximum: 128 })),
  cpuunits: scalarKey(Int({ minimum: 1, maximum: 262144 })),
  affinity: scalarKey(Str({ pveFormat: 'cpuset' })),
  numa: bool(),
  kvm: bool(),
  arch: scalarKey(Enum(['x86_64', 'aarch64'])),
  // memory
  memory: propertyKey(qemuMemoryFormat),
  balloon: scalarKey(Int({ minimum: 0 })),
  shares: scalarKey(Int({ minimum: 0, maximum: 50000 })),
  hugepages: scalarKey(Enum(['any', '2', '1024'])),
  keephugepages: bool(),
  // machine and firmware
  machine: propertyKey(qemuMachineFormat),
  bios: scalarKey(Enum(['seabios', 'ovmf'])),
  acpi: bool(),
  localtime: bool(),
  tdf: bool(),
  freeze: bool(),
  ostype: scalarKey(Enum(QEMU_OSTYPES)),
  boot: propertyKey(qemuBootFormat),
  bootdisk: scalarKey(Str({ pattern: '(?:ide|sata|scsi|virtio)\\d+', pveMessage: 'must be a disk key such as scsi0' })),
  hotplug: scalarKey(Str({ pveFormat: 'hotplug' })),
  'amd-sev': scalarKey(Str({ pattern: '[^\\n]+' })),
  args: scalarKey(Str()),
  // devices
  agent: propertyKey(qemuAgentFormat),
  vga: propertyKey(qemuVgaFormat),
  keyboard: scalarKey(Enum(QEMU_KEYBOARDS)),
  tablet: bool(),
  watchdog: propertyKey(qemuWatchdogFormat),
  scsihw: scalarKey(Enum(QEMU_SCSIHW)),
  efidisk0: propertyKey(qemuEfidiskFormat),
  tpmstate0: propertyKey(qemuTpmstateFormat),
  cdrom: propertyKey(qemuIdeFormat),
  rng0: propertyKey(qemuRngFormat),
  ivshmem: propertyKey(qemuIvshmemFormat),
  audio0: propertyKey(qemuAudioFormat),
  spice_enhancements: propertyKey(qemuSpiceEnhancementsFormat),
  // migration
  migrate_speed: scalarKey(Int({ minimum: 0 })),
  migrate_downtime: scalarKey(Num({ minimum: 0 })),
  // cloud-init
  citype: scalarKey(Enum(['configdrive2', 'nocloud', 'opennebula'])),
  ciuser: scalarKey(Str()),
  cipassword: scalarKey(Str()),
  ciupgrade: bool(),
  cicustom: propertyKey(qemuCicustomFormat),
  searchdomain: scalarKey(Str()),
  nameserver: scalarKey(Str({ pveFormat: 'address-list' })),
  sshkeys: scalarKey(Str({ pveFormat: 'urlencoded' })),
  // snapshots
  parent: scalarKey(SnapshotName()),
  snaptime: scalarKey(Int({ minimum: 0 })),
  snapstate: scalarKey(Enum(SNAPSTATES)),
  vmstate: scalarKey(VolumeIdString()),
  vmstatestorage: scalarKey(Str({ pveFormat: 'storage-id' })),
  runningmachine: propertyKey(qemuMachineFormat),
  // qemu-server's `(?>[+-]?[\w\-\._=]+,?)+` relies on Perl's atomic group; without one it
  // backtracks exponentially. The same language, unambiguous: words of [\w.=-] separated by
  // ',', '+' or ',+', an optional leading '+' and trailing ','.
  runningcpu: scalarKey(Str({ pattern: '\\+?[\\w.=-]+(?:(?:,\\+?|\\+)[\\w.=-]+)*,?', pveMessage: 'is not a QEMU -cpu argument' })),
} satisfies Record<string, ConfigKeySpec<any>>;

/** The indexed keys of a VM config (`net0`..`net31`, `scsi0`..`scsi30`...). */
export const QEMU_INDEXED_KEYS = {
  ide: { count: 4, spec: propertyKey(qemuIdeFormat) },
  sata: { count: 6, spec: propertyKey(qemuSataFormat) },
  scsi: { count: 31, spec: propertyKey(qemuScsiFormat) },
  virtio: { count: 16, spec: propertyKey(qemuVirtioFormat) },
  unused: { count: 256, spec: propertyKey(qemuUnusedFormat) },
  net: { count: 32, spec: propertyKey(qemuNetFormat) },
  ipconfig: { count: 32, spec: propertyKey(qemuIpconfigFormat) },
  hostpci: { count: 16, spec: propertyKey(qemuHostpciFormat) },
  usb: { count: 14, spec: propertyKey(qemuUsbFormat) },
  numa: { count: 8, spec: propertyKey(qemuNumaFormat) },
  serial: { count: 4, spec: scalarKey(Str({ pattern: '/dev/.+|socket', pveMessage: "must be 'socket' or a host device path /dev/..." })) },
  parallel: { count: 3, spec: scalarKey(Str({ pattern: '/dev/parport\\d+|/dev/usb/lp\\d+', pveMessage: 'must be /dev/parportN or /dev/usb/lpN' })) },
  virtiofs: { count: 10, spec: scalarKey(Str({ pattern: '[^\\n]+' })) },
} as const;

const QEMU_TABLE: GuestKeyTable = { fixed: QEMU_CONFIG_KEYS, indexed: QEMU_INDEXED_KEYS };

/**
 * The typed values of a VM config, by key. Property strings become objects (see `QemuNet`,
 * `QemuDrive`-like fields, `memory: { current }`...), booleans become booleans, sizes bytes.
 * `delete` (pending section only) is the parsed deletion list.
 */
export type QemuConfigValues = TableValues<typeof QEMU_CONFIG_KEYS, typeof QEMU_INDEXED_KEYS> & {
  delete?: PendingDeletion[];
};

/**
 * Validates the entries of a VM config section (main, pending, snapshot) and returns their
 * typed values.
 *
 * @param entries - The section's entries (`GuestConfigSection.entries`) or a key → value record.
 * @returns Typed values by key, in entry order.
 * @throws InvalidConfigError whose `key` and message name the key and the value, for an
 *   unknown key, a repeated key, `delete` outside a pending section, or a malformed value (bad
 *   size, MAC address, bridge name, volume id, out-of-range number, unknown enum value...).
 */
export function validateQemuConfig(entries: ConfigEntriesInput, options: ValidateGuestConfigOptions = {}): QemuConfigValues {
  return validateEntries(QEMU_TABLE, entries, { what: 'VM', special: pendingDeleteHook(QEMU_TABLE, options) }) as QemuConfigValues;
}

/** The spec of a VM config key (`undefined` for an unknown key). */
export function qemuKeySpec(key: string): ConfigKeySpec<unknown> | undefined {
  return lookupKeySpec(QEMU_TABLE, key);
}
