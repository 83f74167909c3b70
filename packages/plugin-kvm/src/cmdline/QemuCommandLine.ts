/**
 * Config to command line: a pure function from a checked {@link QemuConfig}, the resolved
 * volumes and the host's features to QEMU's argv (what `qm showcmd` prints).
 *
 * @packageDocumentation
 */
import { InvalidConfigError, UnavailableError, type VolumeAccess } from '@corral/core';
import type { QemuConfig } from '../config/QemuConfig.js';
import { X86_64_LEVELS } from '../config/parseQemuConfig.js';
import type { QemuRunPaths } from '../runtime/QemuRunPaths.js';
import { HOST_CDROM_ACCESS, qemuBlockGraph } from './QemuBlockdev.js';
import { bootIndex, driveDevice, escapeOption, netDevice, netdevOptions, renderDevice, renderNetdev, scsiControllerDevice, scsiControllerId, type QemuDevice } from './QemuDevices.js';

/** What the host offers, as probed by `probeHostFeatures`. */
export interface QemuHostFeatures {
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
  /** OVMF firmware files by `efitype` (absent when the `ovmf` package is not installed). */
  readonly ovmf?: { readonly '2m'?: { code: string; vars: string }; readonly '4m'?: { code: string; vars: string } };
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
  const device = (d: QemuDevice): void => push('-device', renderDevice(d));

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
  const machineOpts = [`type=${c.machine.qemuMachine}`];
  if (!c.acpi) machineOpts.push('acpi=off');
  if (c.machine.viommu === 'intel') machineOpts.push('kernel-irqchip=split');
  let pflash: { code: string; vars: VolumeAccess; varsFormat?: string } | undefined;
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
    pflash = { code: fw.code, vars, varsFormat: c.efidisk?.format };
    machineOpts.push('pflash0=pflash0', 'pflash1=drive-efidisk0');
  }
  push('-machine', machineOpts.join(','));
  push('-accel', accel);
  if (pflash) {
    push('-blockdev', JSON.stringify({ driver: 'file', filename: pflash.code, 'node-name': 'pflash0-file', 'read-only': true }));
    push('-blockdev', JSON.stringify({ driver: 'raw', 'node-name': 'pflash0', file: 'pflash0-file', 'read-only': true }));
    const g = qemuBlockGraph('efidisk0', { cache: 'writeback', format: pflash.varsFormat as never }, pflash.vars);
    for (const n of g.nodes) push('-blockdev', JSON.stringify(n));
  }

  // CPU and memory
  push('-cpu', cpuOption(c, accel, host, warnings));
  push('-smp', `${c.vcpus},sockets=${c.sockets},cores=${c.cores},maxcpus=${c.sockets * c.cores}`);
  push('-m', String(c.memoryMiB));
  if (c.localtime || c.ostype?.startsWith('w')) {
    push('-rtc', c.ostype?.startsWith('w') ? 'driftfix=slew,base=localtime' : 'base=localtime');
  }
  // Windows 7 / 2008 and later lose ticks under load: qemu-server drops them (Linux keeps its own clock).
  if (accel === 'kvm' && c.ostype && WINDOWS_6_OR_LATER.has(c.ostype)) push('-global', 'kvm-pit.lost_tick_policy=discard');
  // qemu-server's firmware boot settings: a boot menu, only the listed devices, retry after 1 s.
  push('-boot', 'menu=on,strict=on,reboot-timeout=1000');
  // ACPI S3/S4 off unless the config enables them (`machine: ...,enable-s3=1`), as qemu-server.
  const pm = c.machine.type === 'q35' ? 'ICH9-LPC' : 'PIIX4_PM';
  if (!c.machine.enableS3) push('-global', `${pm}.disable_s3=1`);
  if (!c.machine.enableS4) push('-global', `${pm}.disable_s4=1`);
  if (!c.reboot) push('-no-reboot');
  if (Object.keys(c.smbios1).length > 0) {
    push('-smbios', ['type=1', ...Object.entries(c.smbios1).map(([k, v]) => `${k}=${escapeOption(v)}`)].join(','));
  }
  if (c.vmgenid) device({ driver: 'vmgenid', guid: c.vmgenid, id: 'vmgenid0' });

  // a PCI bridge for hotplug on q35 (pcie.0 does not take hotplugged devices)
  if (c.machine.type === 'q35') device({ driver: 'pci-bridge', id: 'pci.1', chassis_nr: '1', bus: 'pcie.0', addr: '0x1e' });
  if (c.machine.viommu === 'intel') device({ driver: 'intel-iommu', id: 'viommu0', 'intremap': 'on', 'caching-mode': 'on' });
  if (c.machine.viommu === 'virtio') device({ driver: 'virtio-iommu-pci', id: 'viommu0' });

  // display
  push('-vnc', `unix:${paths.vnc}`);
  const vga = vgaDevices(c);
  for (const d of vga) device(d);
  if (c.tablet && vga.length > 0) {
    if (c.machine.type === 'q35') {
      device({ driver: 'qemu-xhci', id: 'xhci' });
      device({ driver: 'usb-tablet', id: 'tablet', bus: 'xhci.0' });
    } else {
      device({ driver: 'piix3-usb-uhci', id: 'uhci' });
      device({ driver: 'usb-tablet', id: 'tablet', bus: 'uhci.0', port: '1' });
    }
  }

  // fixed devices
  if (c.balloonMiB !== 0) {
    // Free page reporting hands freed guest pages back to the host (qemu-server: machine 6.2 and later).
    const balloon: Record<string, string> = { driver: 'virtio-balloon-pci', id: 'balloon0' };
    if (machineAtLeast(c.machine.qemuMachine, 6, 2)) balloon['free-page-reporting'] = 'on';
    device(balloon as QemuDevice);
  }
  if (c.agent.enabled) {
    push('-chardev', `socket,id=qga0,path=${escapeOption(paths.qga)},server=on,wait=off`);
    if (c.agent.type === 'isa') {
      device({ driver: 'isa-serial', chardev: 'qga0', id: 'qga0-port' });
    } else {
      device({ driver: 'virtio-serial', id: 'qga0' });
      device({ driver: 'virtserialport', chardev: 'qga0', name: 'org.qemu.guest_agent.0', id: 'qga0-port' });
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

  // drives
  for (const d of c.drives) {
    let node: string | undefined;
    let extra: Readonly<Record<string, string>> = {};
    if (d.source.kind !== 'none') {
      const access = d.source.kind === 'host-cdrom' ? HOST_CDROM_ACCESS : input.volumes.get(d.key);
      if (!access) throw new InvalidConfigError(d.key, undefined, `'${d.key}' was not resolved to a volume`);
      const g = qemuBlockGraph(d.key, d.drive, access);
      if (g.throttleGroup) push('-object', JSON.stringify(g.throttleGroup));
      for (const n of g.nodes) push('-blockdev', JSON.stringify(n));
      node = g.top;
      extra = g.deviceProps;
    }
    let iothread: string | undefined;
    if (d.interface === 'virtio' && d.drive.iothread) {
      iothread = `iothread-${d.key}`;
      push('-object', `iothread,id=${iothread}`);
    }
    device(driveDevice(d, { node, extra, bootindex: bootIndex(c, d.key), iothread, scsihw: c.scsihw, machine: c.machine.type }));
  }

  // NICs
  for (const n of c.nets) {
    push('-netdev', renderNetdev(netdevOptions(n, { vmid: c.vmid, vhostNet: host.vhostNet })));
    device(netDevice(n, { bootindex: bootIndex(c, n.key), vcpus: c.vcpus }));
  }

  // PCI passthrough
  let port = 0;
  for (const h of c.hostpci) {
    let bus: string | undefined;
    if (h.pcie) {
      port++;
      const rp = `ich9-pcie-port-${port}`;
      device({ driver: 'pcie-root-port', id: rp, bus: 'pcie.0', port: String(port), chassis: String(port), addr: `0x${(0x10 + port).toString(16)}` });
      bus = rp;
    }
    h.hosts.forEach((addr, fn) => {
      const multi = h.hosts.length > 1;
      const d: Record<string, string> = { driver: 'vfio-pci', host: addr.replace(/\.\*$/, '.0'), id: multi ? `${h.key}.${fn}` : h.key };
      if (bus) d.bus = bus;
      if (multi) {
        d.addr = `0x0.${fn}`;
        if (fn === 0) d.multifunction = 'on';
      }
      if (h.xvga && fn === 0) d['x-vga'] = 'on';
      if (!h.rombar) d.rombar = '0';
      if (h.romfile) d.romfile = `/usr/share/kvm/${h.romfile}`;
      device(d as QemuDevice);
    });
  }
  if (c.hostpci.length > 0 && accel === 'tcg') warnings.push('PCI passthrough under TCG is slow and may not work');

  push(...c.args);
  return { argv, accel, accelReason, warnings };
}

/**
 * True when machine type `machine` (`pc`, `q35`: the QEMU binary's newest; `pc-i440fx-X.Y`,
 * `pc-q35-X.Y`: pinned) is version `major.minor` or later.
 */
function machineAtLeast(machine: string, major: number, minor: number): boolean {
  const dash = machine.lastIndexOf('-');
  const version = dash < 0 ? undefined : machine.slice(dash + 1).split('.').map(Number);
  if (!version || version.length !== 2 || version.some((n) => !Number.isInteger(n))) return true;
  return version[0]! > major || (version[0] === major && version[1]! >= minor);
}

/** `ostype` values of Windows 6.0 (Vista, 2008) and later. */
const WINDOWS_6_OR_LATER: ReadonlySet<string> = new Set(['wvista', 'w2k8', 'win7', 'win8', 'win10', 'win11']);

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

/** The model used under KVM in place of a `host`/`max` that this host's KVM cannot run (Proxmox's default model). */
const KVM_SAFE_CPU_MODEL = 'x86-64-v2-AES';

function cpuOption(c: QemuConfig, accel: 'kvm' | 'tcg', host: QemuHostFeatures, warnings: string[]): string {
  let model = c.cpu.type;
  const flags: string[] = [];
  const unusable = accel === 'kvm' ? host.kvmCpuUnusable?.[model] : undefined;
  if (unusable !== undefined) {
    warnings.push(`cpu '${model}' does not run under this host's KVM (${unusable}): using '${KVM_SAFE_CPU_MODEL}' instead`);
    model = KVM_SAFE_CPU_MODEL;
  }
  if (model in X86_64_LEVELS) {
    flags.push(...X86_64_LEVELS[model]!);
    model = accel === 'kvm' ? 'kvm64' : 'qemu64';
  }
  if (model === 'host' && accel === 'tcg') {
    warnings.push("cpu 'host' needs KVM: using 'max' under TCG");
    model = 'max';
  }
  // As qemu-server: named models are enforced (QEMU refuses to start rather than drop a flag);
  // kvm64/qemu64 get lahf_lm and sep, which every x86-64 host has.
  if (model !== 'host' && model !== 'max') {
    flags.unshift('enforce');
    if (accel === 'kvm') flags.push('+kvm_pv_eoi', '+kvm_pv_unhalt');
  }
  if (model === 'kvm64' || model === 'qemu64') flags.push('+lahf_lm', '+sep');
  if (accel === 'kvm' && c.ostype && WINDOWS_6_OR_LATER.has(c.ostype)) {
    flags.push('hv_relaxed', 'hv_vapic', 'hv_spinlocks=0x1fff', 'hv_time');
  }
  flags.push(...c.cpu.flags);
  if (c.cpu.hidden) flags.push('kvm=off');
  // The last mention of a flag wins (configured flags come after the model's).
  const byName = new Map<string, string>();
  for (const f of flags) {
    const name = f.replace(/^[+-]/, '').replace(/=.*$/, '');
    byName.delete(name); // a later mention moves to the end, as QEMU applies it last
    byName.set(name, f);
  }
  return [model, ...byName.values()].join(',');
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
