/**
 * Config to command line: a pure function from a checked {@link QemuConfig}, the resolved
 * volumes and the host's features to QEMU's argv (what `qm showcmd` prints).
 *
 * @packageDocumentation
 */
import { InvalidConfigError, UnavailableError, type VolumeAccess } from '@corral/core';
import type { QemuConfig } from '../config/QemuConfig.js';
import type { QemuRunPaths } from '../runtime/QemuRunPaths.js';
import { HOST_CDROM_ACCESS, qemuBlockGraph } from './QemuBlockdev.js';
import { driveDevice, escapeOption, netDevice, netdevOptions, renderDevice, renderNetdev, scsiControllerDevice, scsiControllerId, type QemuDevice } from './QemuDevices.js';
import { windowsVersion } from '../config/windowsVersion.js';
import { machineAtLeast, machineVersion, NEWEST_KNOWN_MACHINE_VERSION, runMachineType } from './machineVersion.js';
import { pciAddress, pciBridges, q35BaseDevices } from './pciLayout.js';
import { cpuArgument } from './qemuCpu.js';
import { memoryArgs, type MemoryHostFacts } from './qemuMemory.js';

/** What the host offers, as probed by `probeHostFeatures`. */
export interface QemuHostFeatures extends MemoryHostFacts {
  /** KVM runs guests here: the KVM probe passed, or the embedder forced KVM. */
  readonly kvm: boolean;
  /** Why `kvm` is what it is, for the task log ("KVM probe failed: ...", "TCG forced by CORRAL_QEMU_ACCEL=tcg"). */
  readonly kvmReason?: string;
  /** True when the embedder forced the accelerator: TCG is then a choice, not a fallback, and gets no warning. */
  readonly accelForced?: boolean;
  /** CPU models that cannot run under this host's KVM (probed `host`/`max`), with the probe's reason. */
  readonly kvmCpuUnusable?: Readonly<Record<string, string>>;
  /** /dev/vhost-net is present. */
  readonly vhostNet: boolean;
  /** OVMF firmware files by `efitype` (absent when the `ovmf` package is not installed); `varsSize` in bytes. */
  readonly ovmf?: { readonly '2m'?: OvmfFirmware; readonly '4m'?: OvmfFirmware };
  /** `major.minor` of the QEMU binary: the version of the unpinned machine types (`pc`, `q35`). Unknown: the newest Corral knows. */
  readonly qemuVersion?: readonly [number, number];
  /** The host's iSCSI initiator name, passed to QEMU's iSCSI client (qemu-server does so for every VM). */
  readonly iscsiInitiatorName?: string;
  /** The host CPU's vendor id (`GenuineIntel`, `AuthenticAMD`; `/proc/cpuinfo`). */
  readonly cpuVendor?: string;
}

/** One OVMF build: code and variables template, with the template's size in bytes (the size of a raw efidisk). */
export interface OvmfFirmware {
  readonly code: string;
  readonly vars: string;
  readonly varsSize?: number;
}

/** Input of {@link buildQemuCommandLine}. */
export interface QemuCommandLineInput {
  readonly config: QemuConfig;
  readonly paths: QemuRunPaths;
  readonly host: QemuHostFeatures;
  /** Resolved volumes by config key (drives with a medium, and `efidisk0`). */
  readonly volumes: ReadonlyMap<string, VolumeAccess>;
  /** QEMU binary. Default `qemu-system-x86_64`. */
  readonly binary?: string;
  /** Start with the CPUs stopped (`-S`). The driver always does, and continues after setup. */
  readonly paused?: boolean;
  /** Fork into the background once ready (`-daemonize`). */
  readonly daemonize?: boolean;
  /** MTU of each bridge the NICs plug into (virtio NICs get it as `host_mtu`, as in qemu-server). Default 1500. */
  readonly bridgeMtus?: ReadonlyMap<string, number>;
}

/** The command line and what the builder had to decide on the host's behalf. */
export interface QemuCommandLine {
  readonly argv: readonly string[];
  /** `kvm` or `tcg` (TCG when KVM is not usable or forced off, or the guest has `kvm: 0`). */
  readonly accel: 'kvm' | 'tcg';
  /** Why that accelerator ("KVM probe passed (ran in 40 ms)", "the guest's config has kvm: 0"...). */
  readonly accelReason: string;
  /** Decisions a task log should show (TCG fallback, CPU model substitutions...). */
  readonly warnings: readonly string[];
}

/** Default QEMU binary. */
export const DEFAULT_QEMU_BINARY = 'qemu-system-x86_64';

/**
 * Builds the argv of a VM.
 *
 * Layout: identity, monitors (two QMP sockets), pid file and QEMU log (`-D`), machine and
 * accelerator, CPU and memory, firmware, fixed devices (VGA, balloon, agent channel, serial
 * ports logging to `serialN.log`, USB tablet, watchdog, RNG), controllers, drives
 * (`-blockdev` graphs + devices), NICs (`-netdev` + devices), PCI passthrough, and last
 * `args` as configured.
 *
 * Accelerator: KVM when the guest has `kvm: 1` (default) and `host.kvm`; otherwise TCG, with a
 * warning when TCG is a fallback (not forced by the embedder, not `kvm: 0`). A `host`/`max`
 * CPU listed in `host.kvmCpuUnusable` becomes `x86-64-v2-AES` under KVM, with a warning.
 *
 * @throws InvalidConfigError naming the key when a volume was not resolved or its format
 *   cannot be a drive; UnavailableError when `bios: ovmf` and no OVMF firmware is installed.
 */
export function buildQemuCommandLine(input: QemuCommandLineInput): QemuCommandLine {
  const { config: c, paths, host } = input;
  const warnings: string[] = [];
  const argv: string[] = [input.binary ?? DEFAULT_QEMU_BINARY];
  const push = (...a: string[]): void => void argv.push(...a);
  const machineType = c.machine.type;
  const runMachine = runMachineType(c, host);
  const version = machineVersion(runMachine, host, c.machine.pveRevision);
  const atLeast = (major: number, minor: number, pve = 0): boolean => machineAtLeast(version, major, minor, pve);
  // Devices are collected (bridges go first once all buses in use are known); PCI devices
  // get qemu-server's fixed slot by id unless placed already.
  const devices: QemuDevice[] = [];
  const busesInUse = new Set<number>();
  const device = (d: QemuDevice): void => {
    const placed = d.bus === undefined && d.id !== undefined ? pciAddress(d.id, machineType) : {};
    if (placed.bus?.startsWith('pci.')) busesInUse.add(Number(placed.bus.slice(4)));
    devices.push({ ...d, ...placed });
  };

  const { accel, accelReason } = chooseAccelerator(c, host, warnings);

  push('-name', `guest=${escapeOption(c.name ?? `vm${c.vmid}`)},debug-threads=on`);
  push('-no-user-config', '-nodefaults');
  push('-chardev', `socket,id=qmp,path=${escapeOption(paths.qmp)},server=on,wait=off`, '-mon', 'chardev=qmp,mode=control');
  push('-chardev', `socket,id=qmp-status,path=${escapeOption(paths.qmpStatus)},server=on,wait=off`, '-mon', 'chardev=qmp-status,mode=control');
  push('-pidfile', paths.pidFile);
  // QEMU's own log; a daemonized QEMU with -D also sends its stderr there (not to /dev/null).
  push('-D', paths.qemuLog);
  if (input.daemonize) push('-daemonize');
  if (input.paused) push('-S');

  // machine, firmware
  const machineOpts = [`type=${runMachine}`];
  if (!c.acpi) machineOpts.push('acpi=off');
  // qemu-server: no HPET for Windows 6+ guests, and for Linux guests from machine 10.1.
  const windows = windowsVersion(c.ostype);
  if (windows >= 6 || (c.ostype === 'l26' && atLeast(10, 1))) machineOpts.push('hpet=off');
  if (c.machine.viommu === 'intel') machineOpts.push('kernel-irqchip=split');
  let pflash: { code: string; vars: VolumeAccess; varsFormat?: string; varsSize?: number } | undefined;
  if (c.bios === 'ovmf') {
    const efitype = c.efidisk?.efitype ?? '4m';
    const fw = host.ovmf?.[efitype];
    if (!fw) throw new UnavailableError('ovmf', `bios: ovmf needs the OVMF firmware (${efitype}); install the Debian package 'ovmf'`);
    let vars: VolumeAccess;
    if (c.efidisk) {
      const v = input.volumes.get('efidisk0');
      if (!v) throw new InvalidConfigError('efidisk0', undefined, `'efidisk0' was not resolved to a volume`);
      vars = v;
    } else {
      warnings.push('no efidisk0 configured: using a temporary copy of the OVMF variables (EFI settings are lost at stop)');
      vars = { kind: 'file', path: paths.efivars, format: 'raw' };
    }
    pflash = { code: fw.code, vars, varsFormat: c.efidisk?.format, varsSize: fw.varsSize };
    machineOpts.push('pflash0=pflash0', 'pflash1=drive-efidisk0');
  }
  push('-machine', machineOpts.join(','));
  push('-accel', accel);
  if (pflash) {
    push('-blockdev', JSON.stringify({ driver: 'raw', file: { driver: 'file', filename: pflash.code }, 'node-name': 'pflash0', 'read-only': true }));
    // The variables: the template's size of a (possibly larger) raw volume, as qemu-server.
    const g = qemuBlockGraph('efidisk0', { cache: 'writeback', format: pflash.varsFormat as never }, pflash.vars, { rawSize: pflash.varsSize });
    push('-object', JSON.stringify(g.throttleGroup));
    push('-blockdev', JSON.stringify(g.blockdev));
  }

  // CPU and memory
  push('-cpu', cpuArgument(c, { accel, machineVersion: version, qemuVersion: host.qemuVersion ?? NEWEST_KNOWN_MACHINE_VERSION, hostCpuVendor: host.cpuVendor, kvmCpuUnusable: host.kvmCpuUnusable, warnings }));
  push('-smp', `${c.vcpus},sockets=${c.sockets},cores=${c.cores},maxcpus=${c.sockets * c.cores}`);
  push(...memoryArgs(c, host));
  const rtc = [
    ...(c.timeDriftFix ? ['driftfix=slew'] : []),
    ...(c.startDate !== undefined ? [`base=${c.startDate}`] : c.localtime ? ['base=localtime'] : []),
  ];
  if (rtc.length > 0) push('-rtc', rtc.join(','));
  // Windows 7 / 2008 and later lose ticks under load: qemu-server drops them (Linux keeps its own clock).
  if (accel === 'kvm' && windows >= 6) push('-global', 'kvm-pit.lost_tick_policy=discard');
  // qemu-server's firmware boot settings: a boot menu, only the listed devices, retry after 1 s.
  push('-boot', 'menu=on,strict=on,reboot-timeout=1000');
  // ACPI S3/S4: off by default from machine 9.2+pve1 (on before), unless the config says (`machine: ...,enable-s3=1`), as qemu-server.
  const pm = c.machine.type === 'q35' ? 'ICH9-LPC' : 'PIIX4_PM';
  const suspendDefault = !atLeast(9, 2, 1);
  if (!(c.machine.enableS3 ?? suspendDefault)) push('-global', `${pm}.disable_s3=1`);
  if (!(c.machine.enableS4 ?? suspendDefault)) push('-global', `${pm}.disable_s4=1`);
  // QEMU 6.1 turned ACPI hotplug on q35 bridges on, which moves PCI slots a Linux guest names
  // its interfaces after: qemu-server keeps it off for unpinned q35 Linux VMs created before 6.1
  // (or with no record of their creation).
  const createdBefore61 = c.creationQemu === undefined || !machineAtLeast(c.creationQemu, 6, 1);
  if (machineType === 'q35' && c.ostype === 'l26' && !c.machine.qemuMachine.includes('-') && createdBefore61 && atLeast(6, 1)) {
    push('-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off');
  }
  if (!c.reboot) push('-no-reboot');
  if (Object.keys(c.smbios1).length > 0) {
    push('-smbios', ['type=1', ...Object.entries(c.smbios1).map(([k, v]) => `${k}=${escapeOption(v)}`)].join(','));
  }
  // q35's fixed layout: USB controllers, audio, PCIe root ports, and pci.0..pci.3 (hotplug goes to pci.1).
  if (machineType === 'q35') devices.push(...q35BaseDevices(version));
  if (c.vmgenid) device({ driver: 'vmgenid', guid: c.vmgenid });
  const awBits: Record<string, string> = c.machine.awBits === undefined ? {} : { 'aw-bits': String(c.machine.awBits) };
  if (c.machine.viommu === 'intel') device({ driver: 'intel-iommu', intremap: 'on', 'caching-mode': 'on', ...awBits });
  if (c.machine.viommu === 'virtio') device({ driver: 'virtio-iommu-pci', ...awBits });

  // display
  push('-vnc', `unix:${paths.vnc}`);
  const vga = vgaDevices(c);
  for (const d of vga) device(d);
  if (c.tablet && vga.length > 0) {
    if (machineType === 'q35') {
      device({ driver: 'usb-tablet', id: 'tablet', bus: 'ehci.0', port: '1' });
    } else {
      device({ driver: 'piix3-usb-uhci', id: 'uhci' });
      device({ driver: 'usb-tablet', id: 'tablet', bus: 'uhci.0', port: '1' });
    }
  }

  // fixed devices
  if (c.balloonMiB !== 0) {
    // Free page reporting hands freed guest pages back to the host (qemu-server: machine 6.2 and later).
    const balloon: Record<string, string> = { driver: 'virtio-balloon-pci', id: 'balloon0' };
    if (atLeast(6, 2)) balloon['free-page-reporting'] = 'on';
    device(balloon as QemuDevice);
  }
  if (c.agent.enabled) {
    push('-chardev', `socket,id=qga0,path=${escapeOption(paths.qga)},server=on,wait=off`);
    if (c.agent.type === 'isa') {
      device({ driver: 'isa-serial', chardev: 'qga0', id: 'qga0-port' });
    } else {
      device({ driver: 'virtio-serial', id: 'qga0' });
      device({ driver: 'virtserialport', chardev: 'qga0', name: 'org.qemu.guest_agent.0' });
    }
  }
  for (const [i, s] of [...c.serials.entries()].sort((a, b) => a[0] - b[0])) {
    // logfile: what the guest prints is in a file even when no client is connected.
    const log = `logfile=${escapeOption(paths.serialLog(i))}`;
    if (s.kind === 'socket') push('-chardev', `socket,id=serial${i},path=${escapeOption(paths.serial(i))},server=on,wait=off,${log}`);
    else push('-chardev', `serial,id=serial${i},path=${escapeOption(s.path)},${log}`);
    device({ driver: 'isa-serial', chardev: `serial${i}`, id: `serial${i}` });
  }
  if (c.watchdog) {
    device({ driver: c.watchdog.model, id: 'watchdog' });
    if (c.watchdog.action) push('-action', `watchdog=${c.watchdog.action}`);
  }
  if (c.rng) {
    push('-object', `rng-random,filename=${c.rng.source},id=rng0`);
    const d: Record<string, string> = { driver: 'virtio-rng-pci', rng: 'rng0', id: 'rng0' };
    if (c.rng.maxBytes !== undefined) d['max-bytes'] = String(c.rng.maxBytes);
    if (c.rng.periodMs !== undefined) d.period = String(c.rng.periodMs);
    device(d as QemuDevice);
  }

  // controllers
  const scsi = c.drives.filter((d) => d.interface === 'scsi');
  if (c.scsihw === 'virtio-scsi-single') {
    for (const d of scsi) {
      const iothread = d.drive.iothread ? `iothread-${d.key}` : undefined;
      if (iothread) push('-object', `iothread,id=${iothread}`);
      device(scsiControllerDevice(c.scsihw, scsiControllerId(c.scsihw, d.index), { iothread }));
    }
  } else {
    for (const id of new Set(scsi.map((d) => scsiControllerId(c.scsihw, d.index)))) device(scsiControllerDevice(c.scsihw, id));
  }
  if (c.drives.some((d) => d.interface === 'sata')) device({ driver: 'ahci', id: 'ahci0', multifunction: 'on' });

  // qemu-server hands every VM the host's initiator name (for iSCSI volumes QEMU opens itself).
  if (host.iscsiInitiatorName) push('-iscsi', `initiator-name=${escapeOption(host.iscsiInitiatorName)}`);

  // drives
  for (const d of c.drives) {
    let node: string | undefined;
    let extra: Readonly<Record<string, string>> = {};
    if (d.source.kind !== 'none') {
      const access = d.source.kind === 'host-cdrom' ? HOST_CDROM_ACCESS : input.volumes.get(d.key);
      if (!access) throw new InvalidConfigError(d.key, undefined, `'${d.key}' was not resolved to a volume`);
      const g = qemuBlockGraph(d.key, d.drive, access);
      push('-object', JSON.stringify(g.throttleGroup));
      push('-blockdev', JSON.stringify(g.blockdev));
      node = g.top;
      extra = g.deviceProps;
    }
    let iothread: string | undefined;
    if (d.interface === 'virtio' && d.drive.iothread) {
      iothread = `iothread-${d.key}`;
      push('-object', `iothread,id=${iothread}`);
    }
    device(driveDevice(d, { node, extra, bootindex: c.bootIndexes.get(d.key), iothread, scsihw: c.scsihw, machine: machineType, blockdevMachine: atLeast(10, 0) }));
  }

  // NICs: a `.pxe` machine (or one before 2.4) boots them from the old iPXE ROMs, as qemu-server.
  const oldBiosFiles = c.machine.pxe === true || !atLeast(2, 4);
  for (const n of c.nets) {
    push('-netdev', renderNetdev(netdevOptions(n, { vmid: c.vmid, vhostNet: host.vhostNet })));
    const bridgeMtu = n.net.bridge === undefined ? undefined : (input.bridgeMtus?.get(n.net.bridge) ?? 1500);
    device(netDevice(n, { bootindex: c.bootIndexes.get(n.key), vcpus: c.vcpus, bridgeMtu, machineVersion: version, oldBiosFiles }));
  }

  // PCI passthrough: hostpciN with pcie=1 sits on root port N+1 (ports 1-4 are q35's own, the
  // rest are added at qemu-server's addresses); others take their fixed slot on pci.0..pci.2.
  for (const h of c.hostpci) {
    let place: { bus?: string; addr?: string };
    if (h.pcie) {
      const rp = `ich9-pcie-port-${h.index + 1}`;
      if (h.index >= 4) {
        const addr = `${(0x10 + Math.floor((h.index - 4) / 8)).toString(16)}.${(h.index - 4) % 8}`;
        device({ driver: 'pcie-root-port', id: rp, addr, 'x-speed': '16', 'x-width': '32', multifunction: 'on', bus: 'pcie.0', port: String(h.index + 1), chassis: String(h.index + 1) });
      }
      place = { bus: rp, addr: '0x0' };
    } else {
      place = pciAddress(h.key, machineType);
    }
    h.hosts.forEach((addr, fn) => {
      const multi = h.hosts.length > 1;
      const d: Record<string, string> = { driver: 'vfio-pci', host: addr.replace(/\.\*$/, '.0'), id: multi ? `${h.key}.${fn}` : h.key };
      if (place.bus) d.bus = place.bus;
      if (place.addr) d.addr = multi ? `${place.addr}.${fn}` : place.addr;
      if (multi && fn === 0) d.multifunction = 'on';
      if (h.xvga && fn === 0) d['x-vga'] = 'on';
      if (!h.rombar) d.rombar = '0';
      if (h.romfile) d.romfile = `/usr/share/kvm/${h.romfile}`;
      device(d as QemuDevice);
    });
    if (place.bus?.startsWith('pci.')) busesInUse.add(Number(place.bus.slice(4)));
  }
  if (c.hostpci.length > 0 && accel === 'tcg') warnings.push('PCI passthrough under TCG is slow and may not work');

  // Bridges first: QEMU wants a bus defined before the devices on it.
  const bridges = pciBridges(busesInUse, { machine: machineType, machineVersion: version, virtioScsiSingle: c.scsihw === 'virtio-scsi-single' });
  for (const d of [...bridges, ...devices]) push('-device', renderDevice(d));
  push(...c.args);
  return { argv, accel, accelReason, warnings };
}

/** KVM when the guest wants it (`kvm: 1`, the default) and the host has it; TCG, with a warning when it is a fallback, otherwise. */
function chooseAccelerator(c: QemuConfig, host: QemuHostFeatures, warnings: string[]): { accel: 'kvm' | 'tcg'; accelReason: string } {
  if (!c.kvm) return { accel: 'tcg', accelReason: "the guest's config has kvm: 0" };
  if (!host.kvm) {
    const accelReason = host.kvmReason ?? 'KVM is not available';
    if (!host.accelForced) warnings.push(`${accelReason}; running under TCG emulation, which is much slower`);
    return { accel: 'tcg', accelReason };
  }
  return { accel: 'kvm', accelReason: host.kvmReason ?? 'KVM is available' };
}

function vgaDevices(c: QemuConfig): QemuDevice[] {
  const mem = c.vga.memoryMiB;
  const ram: Record<string, string> = mem ? { vgamem_mb: String(mem) } : {};
  switch (c.vga.type) {
    case 'none':
    case 'serial0':
    case 'serial1':
    case 'serial2':
    case 'serial3':
      return [];
    case 'cirrus':
      return [{ driver: 'cirrus-vga', id: 'vga', ...ram }];
    case 'vmware':
      return [{ driver: 'vmware-svga', id: 'vga', ...ram }];
    case 'virtio':
      return [{ driver: 'virtio-vga', id: 'vga' }];
    case 'qxl':
    case 'qxl2':
    case 'qxl3':
    case 'qxl4': {
      const heads = c.vga.type === 'qxl' ? 1 : Number(c.vga.type.slice(3));
      const out: QemuDevice[] = [{ driver: 'qxl-vga', id: 'vga', ...ram }];
      for (let i = 1; i < heads; i++) out.push({ driver: 'qxl', id: `vga${i}`, ...ram });
      return out;
    }
    default:
      return [{ driver: 'VGA', id: 'vga', ...ram }];
  }
}
