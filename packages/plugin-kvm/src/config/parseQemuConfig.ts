/**
 * Checks a VM config (Proxmox qemu-server keys) and turns it into a {@link QemuConfig}.
 *
 * Keys fall in four groups: keys the driver builds the VM from (`memory`, `net0`...), keys
 * that only describe the guest (`description`, `tags`, `onboot`...), keys of Proxmox features
 * Corral's driver does not implement (`usb0`, `tpmstate0`, cloud-init...: refused, because the VM
 * would not be what the config says), and unknown keys (refused).
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import {
  InvalidConfigError,
  isUnusedKey,
  parsePropertyString,
  parseQemuDrive,
  parseQemuNet,
  STORAGE_ID_RE,
  validateQemuConfig,
  VOLUME_ID_RE,
  type GuestConfigEntries,
  type QemuDrive,
} from '@corral/core';
import type {
  QemuAgentSpec,
  QemuConfig,
  QemuCpuSpec,
  QemuDiskInterface,
  QemuDriveSource,
  QemuDriveSpec,
  QemuHostPciSpec,
  QemuNetSpec,
  QemuSerialSpec,
} from './QemuConfig.js';
import { QEMU_CPU_MODEL_VENDORS } from './cpuModels.js';
import { checkDriverOwnedArgs } from './driverOwnedArgs.js';
import { parseMemorySpec } from './parseMemorySpec.js';
import { splitArgs } from './splitArgs.js';
import { windowsVersion } from './windowsVersion.js';

/** Keys that describe the guest or belong to the facade; they never change the command line. */
export const QEMU_METADATA_KEYS: ReadonlySet<string> = new Set([
  'description',
  'tags',
  'onboot',
  'startup',
  'protection',
  'lock',
  'parent',
  'template',
  'digest',
  'meta',
  'snaptime',
  'snapstate',
  'runningmachine',
  'runningcpu',
  'migrate_downtime',
  'migrate_speed',
  'keyboard',
  'shares',
  'bootdisk',
  'hotplug',
  'vmstatestorage',
  'vmstate',
  'autostart',
]);

/** Proxmox keys the driver does not implement, with what they would need. */
export const QEMU_UNSUPPORTED_KEYS: Readonly<Record<string, string>> = {
  tpmstate0: 'a TPM (swtpm)',
  audio0: 'audio devices',
  ivshmem: 'shared memory devices',
  spice_enhancements: 'SPICE',
  cicustom: 'cloud-init',
  cipassword: 'cloud-init',
  citype: 'cloud-init',
  ciuser: 'cloud-init',
  ciupgrade: 'cloud-init',
  nameserver: 'cloud-init',
  searchdomain: 'cloud-init',
  sshkeys: 'cloud-init',
  hookscript: 'hook scripts',
  affinity: 'CPU affinity',
  'amd-sev': 'AMD SEV',
  'intel-tdx': 'Intel TDX',
  cdrom: "the 'cdrom' alias (write ide2 instead)",
  smp: "the old 'smp' key (use sockets and cores)",
};

const UNSUPPORTED_INDEXED: ReadonlyArray<[RegExp, string]> = [
  [/^usb\d+$/, 'USB passthrough'],
  [/^parallel\d+$/, 'parallel ports'],
  [/^ipconfig\d+$/, 'cloud-init'],
  [/^virtiofs\d+$/, 'virtiofs'],
];

const DRIVE_KEY = /^(ide|sata|scsi|virtio)(\d+)$/;
/** `storeid:SIZE_GiB` asks for a new volume. */
export const NEW_VOLUME = /^([a-z][a-z0-9_.-]*[a-z0-9]):(\d+(?:\.\d+)?)$/i;
const SCSI_CONTROLLERS = ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'];
const VGA_TYPES = ['std', 'cirrus', 'vmware', 'qxl', 'qxl2', 'qxl3', 'qxl4', 'virtio', 'none', 'serial0', 'serial1', 'serial2', 'serial3'];
const OSTYPES = ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'];
/**
 * Proxmox's x86-64 micro-architecture levels, which QEMU 7.2 does not name: `qemu64` plus
 * exactly the flags qemu-server's built-in models add (CPUConfig.pm; `cx16` and `lahf_lm` of
 * the psABI level are not among them).
 */
export const X86_64_LEVELS: Readonly<Record<string, readonly string[]>> = {
  'x86-64-v2': ['+popcnt', '+pni', '+sse4.1', '+sse4.2', '+ssse3'],
  'x86-64-v2-AES': ['+aes', '+popcnt', '+pni', '+sse4.1', '+sse4.2', '+ssse3'],
  'x86-64-v3': ['+aes', '+popcnt', '+pni', '+sse4.1', '+sse4.2', '+ssse3', '+avx', '+avx2', '+bmi1', '+bmi2', '+f16c', '+fma', '+abm', '+movbe', '+xsave'],
  'x86-64-v4': ['+aes', '+popcnt', '+pni', '+sse4.1', '+sse4.2', '+ssse3', '+avx', '+avx2', '+bmi1', '+bmi2', '+f16c', '+fma', '+abm', '+movbe', '+xsave', '+avx512f', '+avx512bw', '+avx512cd', '+avx512dq', '+avx512vl'],
};

/** The CPU model of a config without `cpu` (qemu-server's schema default). */
export const DEFAULT_CPU_MODEL = 'kvm64';

/**
 * True for keys of a drive that is a disk or CD-ROM (`ide0`..`ide3`, `sata0`..`sata5`,
 * `scsi0`..`scsi30`, `virtio0`..`virtio15`).
 */
export function isDriveKey(key: string): boolean {
  const m = DRIVE_KEY.exec(key);
  if (!m || String(Number(m[2])) !== m[2]) return false;
  const limits: Record<string, number> = { ide: 4, sata: 6, scsi: 31, virtio: 16 };
  return Number(m[2]) < limits[m[1]!]!;
}

/**
 * Parses and checks every key of `entries`, and their combinations.
 *
 * Pure: looks at no host state (bridges, devices, KVM) — {@link QemuHypervisorDriver.start}
 * checks those. Drives that still ask for a new volume (`local:32`) are accepted.
 *
 * @throws InvalidConfigError naming the key for an unknown key, a feature the driver does
 *   not implement, a malformed value, or a conflict (the key named is the one that
 *   conflicts with an earlier one: `vcpus` above `sockets`×`cores`, `balloon` above
 *   `memory`, a duplicate MAC, a boot device that does not exist...).
 */
export function parseQemuConfig(entries: GuestConfigEntries, options: { vmid: number }): QemuConfig {
  const vmid = options.vmid;
  // Core's schema first (every key known to Proxmox, every value well-formed), then what this
  // driver can build and how keys combine.
  validateQemuConfig(entries);
  for (const [key, value] of Object.entries(entries)) checkKnownKey(key, value);

  const int = (key: string, min: number, max: number, def: number): number => {
    const raw = entries[key];
    if (raw === undefined) return def;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new InvalidConfigError(key, raw, `invalid value for '${key}': '${raw}' is not an integer from ${min} to ${max}`);
    }
    return Number(raw);
  };
  const flag = (key: string, def: boolean): boolean => {
    const raw = entries[key];
    if (raw === undefined) return def;
    if (raw === '1' || raw === 'on' || raw === 'yes' || raw === 'true') return true;
    if (raw === '0' || raw === 'off' || raw === 'no' || raw === 'false') return false;
    throw new InvalidConfigError(key, raw, `invalid value for '${key}': '${raw}' is not a boolean (0 or 1)`);
  };
  const oneOf = <T extends string>(key: string, values: readonly T[], def: T): T => {
    const raw = entries[key];
    if (raw === undefined) return def;
    if (!values.includes(raw as T)) throw new InvalidConfigError(key, raw, `invalid value for '${key}': '${raw}' is not one of ${values.join(', ')}`);
    return raw as T;
  };

  const name = entries.name;
  // Core's schema checked the characters (`dns-name`); here the lengths a DNS name allows.
  if (name !== undefined && (name.length > 253 || name.split('.').some((label) => label.length > 63))) {
    throw new InvalidConfigError('name', name, `invalid value for 'name': '${name}' is not a valid DNS name`);
  }

  const memoryMiB = parseMemory(entries.memory);
  let balloonMiB: number | undefined;
  if (entries.balloon !== undefined) {
    balloonMiB = int('balloon', 0, 8 * 1024 * 1024, 0);
    if (balloonMiB > memoryMiB) {
      throw new InvalidConfigError('balloon', entries.balloon, `invalid value for 'balloon': ${balloonMiB} MiB is more than 'memory' (${memoryMiB} MiB)`);
    }
  }

  const sockets = int('sockets', 1, 4, 1);
  const cores = int('cores', 1, 1024, 1);
  const vcpus = int('vcpus', 1, 4096, sockets * cores);
  if (vcpus > sockets * cores) {
    throw new InvalidConfigError('vcpus', entries.vcpus, `invalid value for 'vcpus': ${vcpus} is more than sockets × cores (${sockets * cores})`);
  }
  const kvm = flag('kvm', true);
  const cpu = parseCpu(entries.cpu, kvm);
  let cpulimit: number | undefined;
  if (entries.cpulimit !== undefined) {
    const raw = entries.cpulimit;
    if (!/^\d+(?:\.\d+)?$/.test(raw) || Number(raw) > 128) {
      throw new InvalidConfigError('cpulimit', raw, `invalid value for 'cpulimit': '${raw}' is not a number from 0 to 128 (host CPUs)`);
    }
    cpulimit = Number(raw) === 0 ? undefined : Number(raw);
  }
  const cpuunits = entries.cpuunits === undefined ? undefined : int('cpuunits', 1, 262144, 1024);

  const machine = parseMachine(entries.machine);
  const bios = oneOf('bios', ['seabios', 'ovmf'] as const, 'seabios');
  const ostype = entries.ostype === undefined ? undefined : oneOf('ostype', OSTYPES, 'l26');
  const agent = parseAgent(entries.agent);
  const serials = new Map<number, QemuSerialSpec>();
  for (let i = 0; i < 4; i++) {
    const raw = entries[`serial${i}`];
    if (raw === undefined) continue;
    if (raw === 'socket') serials.set(i, { kind: 'socket' });
    else if (/^\/dev\/.+$/.test(raw) && !raw.includes('..')) serials.set(i, { kind: 'device', path: raw });
    else throw new InvalidConfigError(`serial${i}`, raw, `invalid value for 'serial${i}': '${raw}' is neither 'socket' nor a /dev/ path`);
  }
  const vga = parseVga(entries.vga, serials);
  const scsihw = oneOf('scsihw', SCSI_CONTROLLERS, 'lsi');

  const drives: QemuDriveSpec[] = [];
  const nets: QemuNetSpec[] = [];
  const hostpci: QemuHostPciSpec[] = [];
  const unused: Array<{ key: string; volid: string }> = [];
  const seenVolumes = new Map<string, string>();
  const seenMacs = new Map<string, string>();
  for (const [key, value] of Object.entries(entries)) {
    if (isDriveKey(key)) {
      const spec = parseDrive(key, value, scsihw, machine.type);
      if (spec.source.kind === 'volume' && !spec.cdrom && !NEW_VOLUME.test(spec.source.volid)) {
        const other = seenVolumes.get(spec.source.volid);
        if (other) throw new InvalidConfigError(key, value, `invalid value for '${key}': volume ${spec.source.volid} is already attached as '${other}'`);
        seenVolumes.set(spec.source.volid, key);
      }
      drives.push(spec);
    } else if (/^net\d+$/.test(key)) {
      const index = Number(key.slice(3));
      if (index > 31) throw new InvalidConfigError(key, value, `'${key}' is not a network device key (net0 to net31)`);
      const net = parseQemuNet(value, { key });
      const mac = (net.macaddr ?? derivedMac(vmid, index)).toUpperCase();
      const other = seenMacs.get(mac);
      if (other) throw new InvalidConfigError(key, value, `invalid value for '${key}': MAC address ${mac} is already used by '${other}'`);
      seenMacs.set(mac, key);
      if (net.bridge === undefined && (net.tag !== undefined || net.trunks !== undefined || net.firewall)) {
        throw new InvalidConfigError(key, value, `invalid value for '${key}': 'tag', 'trunks' and 'firewall' need a 'bridge'`);
      }
      nets.push({ key, index, net, mac });
    } else if (/^hostpci\d+$/.test(key)) {
      hostpci.push(parseHostPci(key, value, machine.type));
    } else if (isUnusedKey(key)) {
      if (!VOLUME_ID_RE.test(value)) throw new InvalidConfigError(key, value, `invalid value for '${key}': '${value}' is not a volume id`);
      unused.push({ key, volid: value });
    }
  }
  drives.sort(compareKeys);
  nets.sort((a, b) => a.index - b.index);
  hostpci.sort((a, b) => a.index - b.index);

  let efidisk: QemuConfig['efidisk'];
  if (entries.efidisk0 !== undefined) {
    const d = parseQemuDrive(entries.efidisk0, { key: 'efidisk0' });
    efidisk = { key: 'efidisk0', source: driveSource('efidisk0', entries.efidisk0, d.file), format: d.format, efitype: d.efitype ?? '2m' };
    if (efidisk.source.kind !== 'volume' && efidisk.source.kind !== 'path') {
      throw new InvalidConfigError('efidisk0', entries.efidisk0, `invalid value for 'efidisk0': needs a volume or a path`);
    }
  }

  const bootIndexes = parseBoot(entries, drives, nets);
  const args = entries.args === undefined ? [] : splitArgs(entries.args);
  if (entries.args !== undefined) checkDriverOwnedArgs(args, entries.args);

  const hotplug = parseHotplug(entries.hotplug);
  const memory = parseMemorySpec(entries, memoryMiB, sockets, hotplug.has('memory'));
  const smbios1 = parseSmbios(entries.smbios1);
  let vmgenid: string | undefined;
  if (entries.vmgenid !== undefined && entries.vmgenid !== '0') {
    if (entries.vmgenid === '1') vmgenid = derivedUuid(vmid, 'vmgenid');
    else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(entries.vmgenid)) vmgenid = entries.vmgenid;
    else throw new InvalidConfigError('vmgenid', entries.vmgenid, `invalid value for 'vmgenid': '${entries.vmgenid}' is not a UUID, 0 or 1`);
  }
  let rng: QemuConfig['rng'];
  if (entries.rng0 !== undefined) {
    const r = parsePropertyString(entries.rng0, { defaultKey: 'source', keys: ['source', 'max_bytes', 'period'] }, { key: 'rng0' });
    if (!['/dev/urandom', '/dev/random', '/dev/hwrng'].includes(r.source ?? '')) {
      throw new InvalidConfigError('rng0', entries.rng0, `invalid value for 'rng0': source must be /dev/urandom, /dev/random or /dev/hwrng`);
    }
    const num = (v: string | undefined, what: string): number | undefined => {
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v)) throw new InvalidConfigError('rng0', entries.rng0, `invalid value for 'rng0': ${what} must be an integer`);
      return Number(v);
    };
    rng = { source: r.source!, maxBytes: num(r.max_bytes, 'max_bytes'), periodMs: num(r.period, 'period') };
  }
  let watchdog: QemuConfig['watchdog'];
  if (entries.watchdog !== undefined) {
    const w = parsePropertyString(entries.watchdog, { defaultKey: 'model', keys: ['model', 'action'] }, { key: 'watchdog' });
    const model = w.model ?? 'i6300esb';
    if (!['i6300esb', 'ib700'].includes(model)) throw new InvalidConfigError('watchdog', entries.watchdog, `invalid value for 'watchdog': model must be i6300esb or ib700`);
    if (w.action !== undefined && !['reset', 'shutdown', 'poweroff', 'pause', 'debug', 'none'].includes(w.action)) {
      throw new InvalidConfigError('watchdog', entries.watchdog, `invalid value for 'watchdog': unknown action '${w.action}'`);
    }
    watchdog = { model, action: w.action };
  }
  if (entries.vmstatestorage !== undefined && !STORAGE_ID_RE.test(entries.vmstatestorage)) {
    throw new InvalidConfigError('vmstatestorage', entries.vmstatestorage, `invalid value for 'vmstatestorage': not a storage id`);
  }
  if (entries.vmstate !== undefined && !VOLUME_ID_RE.test(entries.vmstate)) {
    throw new InvalidConfigError('vmstate', entries.vmstate, `invalid value for 'vmstate': not a volume id`);
  }
  for (const k of ['onboot', 'protection', 'template']) flag(k, false);

  return {
    creationQemu: creationQemuVersion(entries.meta),
    vmid,
    name,
    memoryMiB,
    balloonMiB,
    memory,
    sockets,
    cores,
    vcpus,
    cpu,
    cpulimit,
    cpuunits,
    machine,
    bios,
    ostype,
    bootIndexes,
    agent,
    vga,
    serials,
    scsihw,
    drives,
    efidisk,
    nets,
    hostpci,
    args,
    kvm,
    acpi: flag('acpi', true),
    tablet: flag('tablet', true),
    // qemu-server: Windows keeps its RTC in local time, and drifts less with the time drift fix (ACPI guests).
    localtime: flag('localtime', windowsVersion(ostype) >= 5),
    timeDriftFix: flag('tdf', windowsVersion(ostype) >= 5 && flag('acpi', true)),
    startDate: parseStartDate(entries.startdate),
    freeze: flag('freeze', false),
    reboot: flag('reboot', true),
    smbios1,
    vmgenid,
    rng,
    watchdog,
    hotplug,
    vmstatestorage: entries.vmstatestorage,
    vmstate: entries.vmstate,
    unused,
  };
}

function checkKnownKey(key: string, value: string): void {
  if (QEMU_METADATA_KEYS.has(key)) return;
  if (key === 'arch') {
    if (value === 'x86_64') return;
    throw new InvalidConfigError(key, value, `'arch: ${value}' is not supported by Corral's QEMU driver (x86_64 only)`);
  }
  const unsupported = QEMU_UNSUPPORTED_KEYS[key] ?? UNSUPPORTED_INDEXED.find(([re]) => re.test(key))?.[1];
  if (unsupported) throw new InvalidConfigError(key, undefined, `'${key}' is not supported by Corral's QEMU driver (${unsupported})`);
  const known = [
    'name', 'memory', 'balloon', 'sockets', 'cores', 'vcpus', 'cpu', 'cpulimit', 'cpuunits', 'machine', 'bios', 'ostype', 'boot',
    'agent', 'vga', 'scsihw', 'efidisk0', 'args', 'kvm', 'acpi', 'tablet', 'localtime', 'freeze', 'reboot', 'smbios1', 'vmgenid',
    'rng0', 'watchdog', 'numa', 'hugepages', 'keephugepages', 'tdf', 'startdate',
  ];
  if (known.includes(key)) return;
  if (isDriveKey(key) || /^net\d+$/.test(key) || /^numa\d+$/.test(key) || /^hostpci\d+$/.test(key) || isUnusedKey(key) || /^serial[0-3]$/.test(key)) return;
  throw new InvalidConfigError(key, undefined, `unknown VM config key '${key}'`);
}

function parseMemory(raw: string | undefined): number {
  if (raw === undefined) return 512;
  const m = /^(?:current=)?(\d+)$/.exec(raw);
  if (!m || Number(m[1]) < 16) throw new InvalidConfigError('memory', raw, `invalid value for 'memory': '${raw}' is not a size in MiB of at least 16`);
  return Number(m[1]);
}

/** Proxmox's built-in models and the QEMU models it maps dropped names to. */

/** `cpu`; without it qemu-server's default model: kvm64, or qemu64 with `kvm: 0`. */
function parseCpu(raw: string | undefined, kvm: boolean): QemuCpuSpec {
  const fallback = kvm ? DEFAULT_CPU_MODEL : 'qemu64';
  if (raw === undefined) return { type: fallback, flags: [], hidden: false };
  const r = parsePropertyString(raw, { defaultKey: 'cputype', keys: ['cputype', 'flags', 'hidden', 'hv-vendor-id', 'phys-bits', 'guest-phys-bits', 'level', 'reported-model'] }, { key: 'cpu' });
  const type = r.cputype ?? fallback;
  if (!QEMU_CPU_MODEL_VENDORS.has(type) && !(type in X86_64_LEVELS)) {
    throw new InvalidConfigError('cpu', raw, `invalid value for 'cpu': unknown CPU type '${type}' (custom models are not supported)`);
  }
  if (r['reported-model'] !== undefined) throw new InvalidConfigError('cpu', raw, `invalid value for 'cpu': 'reported-model' belongs in a custom CPU model, not in a VM's config`);
  const flags = r.flags === undefined ? [] : r.flags.split(';').filter((f) => f !== '');
  for (const f of flags) {
    if (!/^[+-][a-zA-Z0-9_.-]+$/.test(f)) throw new InvalidConfigError('cpu', raw, `invalid value for 'cpu': flag '${f}' must be +name or -name`);
  }
  if (r.hidden !== undefined && r.hidden !== '0' && r.hidden !== '1') throw new InvalidConfigError('cpu', raw, `invalid value for 'cpu': hidden must be 0 or 1`);
  const intIn = (field: string, min: number, max: number): number | undefined => {
    const v = r[field];
    if (v === undefined) return undefined;
    if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidConfigError('cpu', raw, `invalid value for 'cpu': ${field} must be an integer from ${min} to ${max}`);
    return Number(v);
  };
  const physBits = r['phys-bits'] === 'host' ? 'host' : intIn('phys-bits', 8, 64);
  const hvVendorId = r['hv-vendor-id'];
  if (hvVendorId !== undefined && !/^[a-zA-Z0-9]{1,12}$/.test(hvVendorId)) throw new InvalidConfigError('cpu', raw, `invalid value for 'cpu': hv-vendor-id must be 1 to 12 letters or digits`);
  return { type, flags, hidden: r.hidden === '1', level: intIn('level', 0, 4294967295), physBits, guestPhysBits: intIn('guest-phys-bits', 32, 64), hvVendorId };
}

/**
 * A `0`/`1` field `field` of property string `value` of config key `key`: `def` when absent.
 * @throws InvalidConfigError naming `key` for any other value.
 */
function zeroOrOne(key: string, value: string, field: string, v: string | undefined, def: boolean): boolean {
  if (v === undefined) return def;
  if (v === '1') return true;
  if (v === '0') return false;
  throw new InvalidConfigError(key, value, `invalid value for '${key}': ${field} must be 0 or 1`);
}

function parseMachine(raw: string | undefined): QemuConfig['machine'] {
  if (raw === undefined) return { type: 'pc', qemuMachine: 'pc' };
  const r = parsePropertyString(raw, { defaultKey: 'type', keys: ['type', 'viommu', 'aw-bits', 'enable-s3', 'enable-s4'] }, { key: 'machine' });
  const type = r.type ?? 'pc';
  const m = /^(pc|q35|pc-i440fx-\d+\.\d+|pc-q35-\d+\.\d+)(?:\+pve(\d{1,3}))?(\.pxe)?$/.exec(type);
  if (!m) throw new InvalidConfigError('machine', raw, `invalid value for 'machine': '${type}' is not pc, q35, pc-i440fx-X.Y or pc-q35-X.Y (with an optional +pveN and .pxe)`);
  if (m[3] !== undefined && !m[1]!.includes('-')) throw new InvalidConfigError('machine', raw, `invalid value for 'machine': '.pxe' needs a pinned version (pc-i440fx-X.Y.pxe, pc-q35-X.Y.pxe)`);
  const q35 = m[1]!.includes('q35');
  if (r.viommu !== undefined && !['intel', 'virtio'].includes(r.viommu)) throw new InvalidConfigError('machine', raw, `invalid value for 'machine': viommu must be intel or virtio`);
  if (r.viommu === 'intel' && !q35) throw new InvalidConfigError('machine', raw, `invalid value for 'machine': viommu=intel needs q35`);
  let awBits: number | undefined;
  if (r['aw-bits'] !== undefined) {
    awBits = /^\d{2}$/.test(r['aw-bits']) ? Number(r['aw-bits']) : NaN;
    if (!(awBits >= 32 && awBits <= 64)) throw new InvalidConfigError('machine', raw, `invalid value for 'machine': aw-bits must be an integer from 32 to 64`);
    if (r.viommu === undefined) throw new InvalidConfigError('machine', raw, `invalid value for 'machine': aw-bits needs a viommu`);
    if (r.viommu === 'intel' && awBits !== 39 && awBits !== 48) throw new InvalidConfigError('machine', raw, `invalid value for 'machine': the Intel vIOMMU takes aw-bits 39 or 48`);
  }
  return {
    type: q35 ? 'q35' : 'pc',
    qemuMachine: m[1]!,
    pveRevision: m[2] === undefined ? undefined : Number(m[2]),
    pxe: m[3] !== undefined,
    viommu: r.viommu as 'intel' | 'virtio' | undefined,
    awBits,
    enableS3: r['enable-s3'] === undefined ? undefined : zeroOrOne('machine', raw, 'enable-s3', r['enable-s3'], false),
    enableS4: r['enable-s4'] === undefined ? undefined : zeroOrOne('machine', raw, 'enable-s4', r['enable-s4'], false),
  };
}

function parseAgent(raw: string | undefined): QemuAgentSpec {
  const off: QemuAgentSpec = { enabled: false, type: 'virtio', freezeFsOnBackup: true, fstrimClonedDisks: false };
  if (raw === undefined) return off;
  const r = parsePropertyString(raw, { defaultKey: 'enabled', keys: ['enabled', 'fstrim_cloned_disks', 'type', 'freeze-fs', 'freeze-fs-on-backup', 'guest-fsfreeze'] }, { key: 'agent' });
  const bool = (v: string | undefined, def: boolean, field: string): boolean => zeroOrOne('agent', raw, field, v, def);
  if (r.type !== undefined && r.type !== 'virtio' && r.type !== 'isa') throw new InvalidConfigError('agent', raw, `invalid value for 'agent': type must be virtio or isa`);
  return {
    enabled: bool(r.enabled, false, 'enabled'),
    type: (r.type as 'virtio' | 'isa' | undefined) ?? 'virtio',
    // freeze-fs-on-backup and guest-fsfreeze are qemu-server's older names of freeze-fs.
    freezeFsOnBackup: bool(r['freeze-fs'] ?? r['freeze-fs-on-backup'] ?? r['guest-fsfreeze'], true, 'freeze-fs'),
    fstrimClonedDisks: bool(r.fstrim_cloned_disks, false, 'fstrim_cloned_disks'),
  };
}

function parseVga(raw: string | undefined, serials: ReadonlyMap<number, QemuSerialSpec>): QemuConfig['vga'] {
  if (raw === undefined) return { type: 'std' };
  const r = parsePropertyString(raw, { defaultKey: 'type', keys: ['type', 'memory', 'clipboard'] }, { key: 'vga' });
  const type = r.type ?? 'std';
  if (!VGA_TYPES.includes(type)) throw new InvalidConfigError('vga', raw, `invalid value for 'vga': unknown type '${type}' (${VGA_TYPES.join(', ')})`);
  if (type.startsWith('serial') && !serials.has(Number(type.slice(6)))) {
    throw new InvalidConfigError('vga', raw, `invalid value for 'vga': '${type}' needs '${type}' to be configured`);
  }
  let memoryMiB: number | undefined;
  if (r.memory !== undefined) {
    if (!/^\d+$/.test(r.memory) || Number(r.memory) < 4 || Number(r.memory) > 512) throw new InvalidConfigError('vga', raw, `invalid value for 'vga': memory must be 4 to 512 (MiB)`);
    memoryMiB = Number(r.memory);
  }
  return { type, memoryMiB };
}

function driveSource(key: string, value: string, file: string): QemuDriveSource {
  if (file === 'none') return { kind: 'none' };
  if (file === 'cdrom') return { kind: 'host-cdrom' };
  if (file.startsWith('/')) {
    if (/\/\.\.?(\/|$)/.test(file)) throw new InvalidConfigError(key, value, `invalid value for '${key}': path '${file}' contains . or ..`);
    return { kind: 'path', path: file };
  }
  return { kind: 'volume', volid: file };
}

function parseDrive(key: string, value: string, scsihw: string, machine: 'pc' | 'q35'): QemuDriveSpec {
  const drive: QemuDrive = parseQemuDrive(value, { key });
  const iface = drive.interface as QemuDiskInterface;
  const cdrom = drive.media === 'cdrom';
  const source = driveSource(key, value, drive.file);
  if (!cdrom && (source.kind === 'none' || source.kind === 'host-cdrom')) {
    throw new InvalidConfigError(key, value, `invalid value for '${key}': '${drive.file}' is only allowed for a CD-ROM (media=cdrom)`);
  }
  if (iface === 'scsi' && scsihw.startsWith('lsi') && drive.index >= 7 * 4) {
    // lsi has 7 targets per controller; Proxmox allows up to 4 controllers' worth.
    throw new InvalidConfigError(key, value, `'${key}' is beyond what scsihw=${scsihw} can attach`);
  }
  if (iface === 'ide' && machine === 'q35' && drive.index > 3) {
    throw new InvalidConfigError(key, value, `'${key}' does not exist on q35`);
  }
  if (drive.iothread && iface === 'scsi' && scsihw !== 'virtio-scsi-single') {
    throw new InvalidConfigError(key, value, `invalid value for '${key}': iothread=1 on a SCSI disk needs scsihw=virtio-scsi-single`);
  }
  return { key, interface: iface, index: drive.index, drive, source, cdrom };
}

function parseHostPci(key: string, value: string, machine: 'pc' | 'q35'): QemuHostPciSpec {
  const index = Number(key.slice(7));
  if (index > 15) throw new InvalidConfigError(key, value, `'${key}' is not a PCI passthrough key (hostpci0 to hostpci15)`);
  const r = parsePropertyString(value, { defaultKey: 'host', keys: ['host', 'pcie', 'x-vga', 'rombar', 'romfile', 'mdev', 'legacy-igd', 'mapping', 'device-id', 'vendor-id', 'sub-device-id', 'sub-vendor-id'] }, { key });
  for (const unsupported of ['mdev', 'legacy-igd', 'mapping']) {
    if (r[unsupported] !== undefined) throw new InvalidConfigError(key, value, `invalid value for '${key}': '${unsupported}' is not supported by Corral's QEMU driver`);
  }
  if (r.host === undefined) throw new InvalidConfigError(key, value, `invalid value for '${key}': a host PCI address is required`);
  const hosts: string[] = [];
  for (const h of r.host.split(';')) {
    const m = /^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})(?:\.([0-7]))?$/i.exec(h);
    if (!m) throw new InvalidConfigError(key, value, `invalid value for '${key}': '${h}' is not a PCI address ([domain:]bus:slot[.function])`);
    const base = `${(m[1] ?? '0000').toLowerCase()}:${m[2]!.toLowerCase()}:${m[3]!.toLowerCase()}`;
    if (m[4] === undefined) hosts.push(`${base}.*`);
    else hosts.push(`${base}.${m[4]}`);
  }
  const bool = (v: string | undefined, def: boolean, field: string): boolean => zeroOrOne(key, value, field, v, def);
  const pcie = bool(r.pcie, false, 'pcie');
  if (pcie && machine !== 'q35') throw new InvalidConfigError(key, value, `invalid value for '${key}': pcie=1 needs machine q35`);
  if (r.romfile !== undefined && (r.romfile.includes('/') || r.romfile.includes('..'))) {
    throw new InvalidConfigError(key, value, `invalid value for '${key}': romfile is a file name in /usr/share/kvm`);
  }
  return { key, index, hosts, pcie, xvga: bool(r['x-vga'], false, 'x-vga'), rombar: bool(r.rombar, true, 'rombar'), romfile: r.romfile };
}

/**
 * `startdate`: `now` (undefined: the host clock) or a fixed `YYYY-MM-DD[THH:MM:SS]` the guest's
 * RTC starts at; anything else is refused, since QEMU would refuse it at start.
 */
function parseStartDate(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === 'now') return undefined;
  if (!/^\d{4}-\d{1,2}-\d{1,2}(?:T\d{1,2}:\d{1,2}:\d{1,2})?$/.test(raw)) {
    throw new InvalidConfigError('startdate', raw, `invalid value for 'startdate': '${raw}' is not 'now', YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS`);
  }
  return raw;
}

/** `major.minor` of `creation-qemu=X.Y.Z` in qemu-server's `meta` key, when present and well formed. */
function creationQemuVersion(meta: string | undefined): readonly [number, number] | undefined {
  if (meta === undefined || meta.length > 256) return undefined;
  const field = meta.split(',').find((f) => f.startsWith('creation-qemu='));
  const parts = field?.slice('creation-qemu='.length).split('.').slice(0, 2).map(Number);
  return parts && parts.length === 2 && parts.every((n) => Number.isInteger(n)) ? [parts[0]!, parts[1]!] : undefined;
}

/** Drive interfaces in the order qemu-server walks a config's volumes (the legacy boot scheme counts in this order). */
const BOOT_WALK_ORDER: readonly string[] = ['ide', 'sata', 'scsi', 'virtio'];

/**
 * Boot indexes by config key, as qemu-server gives them: `order=a;b;c` numbers the listed
 * devices 100, 101...; the legacy string (`boot: cdn`, also the default when `boot` is absent
 * or has no order) gives each letter a base by its position (100, 200, 300): `c` the
 * `bootdisk` only, `d` every CD-ROM, `n` every NIC, each counting up from its base.
 */
function parseBoot(entries: GuestConfigEntries, drives: readonly QemuDriveSpec[], nets: readonly QemuNetSpec[]): Map<string, number> {
  const raw = entries.boot?.trim();
  const present = new Set([...drives.map((d) => d.key), ...nets.map((n) => n.key)]);
  const out = new Map<string, number>();
  if (raw === undefined || raw === '' || /^[acdn]{1,4}$/.test(raw)) {
    const base = new Map<string, number>();
    [...(raw || 'cdn')].forEach((letter, i) => base.set(letter, 100 * (i + 1)));
    const walk = [...drives].sort((a, b) => BOOT_WALK_ORDER.indexOf(a.interface) - BOOT_WALK_ORDER.indexOf(b.interface) || a.index - b.index);
    const next = (letter: string): number | undefined => {
      const n = base.get(letter);
      if (n !== undefined) base.set(letter, n + 1);
      return n;
    };
    for (const d of walk) {
      const n = next(d.cdrom ? 'd' : 'c');
      if (n !== undefined && (d.cdrom || entries.bootdisk === d.key)) out.set(d.key, n);
    }
    for (const net of [...nets].sort((a, b) => a.index - b.index)) {
      const n = next('n');
      if (n !== undefined) out.set(net.key, n);
    }
    return out;
  }
  const r = parsePropertyString(raw, { defaultKey: 'legacy', keys: ['order', 'legacy'] }, { key: 'boot' });
  if (r.legacy !== undefined) throw new InvalidConfigError('boot', raw, `invalid value for 'boot': '${r.legacy}' is neither order=... nor a legacy c/d/n string`);
  const order = (r.order ?? '').split(';').filter((d) => d !== '');
  for (const dev of order) {
    if (!present.has(dev)) throw new InvalidConfigError('boot', raw, `invalid value for 'boot': boot device '${dev}' is not configured`);
    if (out.has(dev)) throw new InvalidConfigError('boot', raw, `invalid value for 'boot': '${dev}' is listed twice`);
    out.set(dev, 100 + out.size);
  }
  return out;
}

function parseHotplug(raw: string | undefined): Set<string> {
  if (raw === undefined || raw === '1') return new Set(['network', 'disk', 'usb']);
  if (raw === '0') return new Set();
  const out = new Set<string>();
  for (const f of raw.split(',')) {
    if (!['network', 'disk', 'cpu', 'memory', 'usb', 'cloudinit'].includes(f)) {
      throw new InvalidConfigError('hotplug', raw, `invalid value for 'hotplug': unknown feature '${f}'`);
    }
    out.add(f);
  }
  return out;
}

function parseSmbios(raw: string | undefined): Record<string, string> {
  if (raw === undefined) return {};
  const keys = ['uuid', 'manufacturer', 'product', 'version', 'serial', 'sku', 'family', 'base64'];
  const r = parsePropertyString(raw, { keys }, { key: 'smbios1' });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === 'base64') continue;
    if (k === 'uuid') {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) throw new InvalidConfigError('smbios1', raw, `invalid value for 'smbios1': uuid is not a UUID`);
      out[k] = v;
    } else {
      out[k] = r.base64 === '1' ? decodeSmbiosBase64(raw, k, v) : v;
    }
  }
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A base64 `smbios1` field decoded (core's schema has checked the characters). QEMU takes the
 * text on its command line: it must be UTF-8 and hold no NUL.
 * @throws InvalidConfigError (`smbios1`) otherwise.
 */
function decodeSmbiosBase64(raw: string, field: string, value: string): string {
  const bytes = Buffer.from(value, 'base64');
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new InvalidConfigError('smbios1', raw, `invalid value for 'smbios1': ${field} does not decode to UTF-8 text`);
  }
  if (text.includes('\0')) throw new InvalidConfigError('smbios1', raw, `invalid value for 'smbios1': ${field} decodes to text with a NUL character`);
  return text;
}

function compareKeys(a: QemuDriveSpec, b: QemuDriveSpec): number {
  const order = ['ide', 'sata', 'scsi', 'virtio'];
  return order.indexOf(a.interface) - order.indexOf(b.interface) || a.index - b.index;
}

/** A stable locally administered MAC for a NIC without `macaddr` (Proxmox's `BC:24:11` prefix). */
export function derivedMac(vmid: number, index: number): string {
  const h = createHash('sha256').update(`corral-mac:${vmid}:${index}`).digest();
  return ['BC', '24', '11', ...[h[0]!, h[1]!, h[2]!].map((b) => b.toString(16).padStart(2, '0').toUpperCase())].join(':');
}

/** A stable UUID derived from the vmid (for `vmgenid: 1` and the SMBIOS uuid default). */
export function derivedUuid(vmid: number, purpose: string): string {
  const h = createHash('sha256').update(`corral-uuid:${purpose}:${vmid}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
