/**
 * QEMU device properties for drives and NICs, shared by the command line (`-device`) and
 * hotplug (`device_add`, which takes the same properties as strings).
 *
 * @packageDocumentation
 */
import type { QemuConfig, QemuDriveSpec, QemuNetSpec } from '../config/QemuConfig.js';
import { machineAtLeast, type MachineVersion } from './machineVersion.js';

/** A QEMU device: `driver` plus string properties, in order. */
export type QemuDevice = Readonly<Record<string, string>> & { readonly driver: string; readonly id?: string };

/**
 * `-device` text of a device: `driver,key=value,...`, with commas in values doubled as
 * QEMU's option parser wants.
 */
export function renderDevice(device: QemuDevice): string {
  const { driver, ...props } = device;
  return [driver, ...Object.entries(props).map(([k, v]) => `${k}=${escapeOption(v)}`)].join(',');
}

/** Doubles commas (QEMU's QemuOpts escaping). */
export function escapeOption(value: string): string {
  return value.replace(/,/g, ',,');
}

/** The tap device of NIC `index` of VM `vmid` (`tap<vmid>i<index>`, as Proxmox names it). */
export function tapName(vmid: number, index: number): string {
  return `tap${vmid}i${index}`;
}

/** Id of the SCSI controller a `scsiN` disk sits on. */
export function scsiControllerId(scsihw: string, index: number): string {
  if (scsihw === 'virtio-scsi-single') return `virtioscsi${index}`;
  return `scsihw${Math.floor(index / scsiTargetsPerController(scsihw))}`;
}

function scsiTargetsPerController(scsihw: string): number {
  return scsihw.startsWith('lsi') ? 7 : 256;
}

/** The QEMU device model of a `scsihw` value. */
export function scsiControllerModel(scsihw: string): string {
  switch (scsihw) {
    case 'lsi':
      return 'lsi'; // QEMU's alias of lsi53c895a, as qemu-server names it
    case 'lsi53c810':
      return 'lsi53c810';
    case 'megasas':
      return 'megasas';
    case 'pvscsi':
      return 'pvscsi';
    default:
      return 'virtio-scsi-pci';
  }
}

/** The SCSI controller device for `scsiN` disks on controller `id`. */
export function scsiControllerDevice(scsihw: string, id: string, options: { iothread?: string; bus?: string } = {}): QemuDevice {
  const dev: Record<string, string> = { driver: scsiControllerModel(scsihw), id };
  if (options.bus) dev.bus = options.bus;
  if (options.iothread) dev.iothread = options.iothread;
  return dev as QemuDevice;
}

/** Options of {@link driveDevice}. */
export interface DriveDeviceOptions {
  /** Block node the device reads (absent: an empty CD-ROM tray). */
  readonly node?: string;
  /** Extra properties the cache mode needs (`write-cache=off`). */
  readonly extra?: Readonly<Record<string, string>>;
  readonly bootindex?: number;
  /** PCI bus for a virtio disk (hotplug on q35 needs the bridge). */
  readonly bus?: string;
  /** `iothread` object id for virtio disks with `iothread=1`. */
  readonly iothread?: string;
  readonly scsihw: string;
  readonly machine: 'pc' | 'q35';
  /**
   * The machine version is 10.0 or later, where qemu-server switched to `-blockdev`: SCSI
   * disks and CD-ROMs get `device_id=drive-<key>` and disks say `write-cache=on` unless the
   * cache mode turns it off. Default false.
   */
  readonly blockdevMachine?: boolean;
}

/** The device of a disk or CD-ROM drive, with id = config key. */
export function driveDevice(spec: QemuDriveSpec, options: DriveDeviceOptions): QemuDevice {
  const d = spec.drive;
  const dev: Record<string, string> = { driver: '' };
  switch (spec.interface) {
    case 'virtio':
      dev.driver = 'virtio-blk-pci';
      if (options.bus) dev.bus = options.bus;
      if (options.iothread) dev.iothread = options.iothread;
      break;
    case 'scsi': {
      dev.driver = spec.cdrom ? 'scsi-cd' : 'scsi-hd';
      dev.bus = `${scsiControllerId(options.scsihw, spec.index)}.0`;
      if (options.scsihw.startsWith('lsi') || options.scsihw === 'pvscsi') {
        dev['scsi-id'] = String(spec.index % scsiTargetsPerController(options.scsihw));
      } else {
        dev.channel = '0';
        dev['scsi-id'] = '0';
        dev.lun = String(spec.index); // also on virtio-scsi-single, as qemu-server
      }
      break;
    }
    case 'sata':
      dev.driver = spec.cdrom ? 'ide-cd' : 'ide-hd';
      dev.bus = `ahci0.${spec.index}`;
      break;
    case 'ide': {
      dev.driver = spec.cdrom ? 'ide-cd' : 'ide-hd';
      // q35's ICH9 AHCI has six single-unit buses ide.0..ide.5; pc's PIIX has two with two units.
      // On q35, qemu-server keeps even indexes where pc has them and moves odd ones up by two.
      if (options.machine === 'q35') {
        dev.bus = `ide.${Math.floor(spec.index / 2) + 2 * (spec.index % 2)}`;
        dev.unit = '0';
      } else {
        dev.bus = `ide.${Math.floor(spec.index / 2)}`;
        dev.unit = String(spec.index % 2);
      }
      break;
    }
  }
  if (options.node) dev.drive = options.node;
  dev.id = spec.key;
  if (d.serial) dev.serial = decodeURIComponent(d.serial);
  if (spec.interface === 'scsi') {
    if (d.vendor) dev.vendor = d.vendor;
    if (d.product) dev.product = d.product;
  }
  if (d.wwn && spec.interface !== 'virtio') dev.wwn = d.wwn;
  if (d.model && spec.interface === 'ide') dev.model = decodeURIComponent(d.model);
  if (d.ssd && spec.interface !== 'virtio' && !spec.cdrom) dev.rotation_rate = '1';
  if (options.bootindex !== undefined) dev.bootindex = String(options.bootindex);
  if (options.blockdevMachine) {
    if (spec.interface === 'scsi') dev.device_id = `drive-${spec.key}`;
    if (!spec.cdrom) dev['write-cache'] = 'on';
  }
  Object.assign(dev, options.extra);
  return dev as QemuDevice;
}

/** QEMU device model of a qemu-server NIC model. */
export function nicModel(model: string): string {
  return model === 'virtio' ? 'virtio-net-pci' : model;
}

/** Options of {@link netDevice}. */
export interface NetDeviceOptions {
  readonly bootindex?: number;
  readonly bus?: string;
  /** vCPUs, for virtio multiqueue vectors. */
  readonly vcpus: number;
  /** MTU of the bridge the NIC plugs into (virtio: `host_mtu`, unless the NIC sets its own). */
  readonly bridgeMtu?: number;
  /** Version of the machine type: queue sizes (7.1), packed rings (7.1), host_mtu (10.0+pve1) and host_tunnel (11.0+pve1) follow qemu-server. Default: the newest. */
  readonly machineVersion?: MachineVersion;
  /** Boot from the old iPXE ROM files (`romfile=pxe-<model>.rom`): `.pxe` machine types and machines before 2.4. */
  readonly oldBiosFiles?: boolean;
}

/** qemu-server's old iPXE ROM of each NIC device. */
const OLD_PXE_ROMS: Readonly<Record<string, string>> = {
  'virtio-net-pci': 'pxe-virtio.rom',
  e1000: 'pxe-e1000.rom',
  e1000e: 'pxe-e1000e.rom',
  ne2k_pci: 'pxe-ne2k_pci.rom',
  pcnet: 'pxe-pcnet.rom',
  rtl8139: 'pxe-rtl8139.rom',
};

/** The NIC device of `netN`, with id = netdev id = config key. */
export function netDevice(spec: QemuNetSpec, options: NetDeviceOptions): QemuDevice {
  const n = spec.net;
  const dev: Record<string, string> = { driver: nicModel(n.model), mac: spec.mac, netdev: spec.key, id: spec.key };
  if (options.bus) dev.bus = options.bus;
  const version = options.machineVersion ?? [Infinity, 0, 0];
  const atLeast = (major: number, minor: number, pve = 0): boolean => machineAtLeast(version, major, minor, pve);
  if (n.model === 'virtio') {
    if (n.queues && n.queues > 1) {
      dev.mq = 'on';
      dev.vectors = String(2 * n.queues + 2);
      if (atLeast(7, 1)) dev.packed = 'on';
    }
    if (atLeast(7, 1)) {
      dev.rx_queue_size = '1024';
      dev.tx_queue_size = '256';
    }
    // host_mtu on a bridged NIC: its own MTU, else the bridge's; always from machine 10.0+pve1
    // (it changes the virtual hardware), before only when it is not 1500.
    const mtu = n.mtu !== undefined && n.mtu !== 1 ? n.mtu : options.bridgeMtu;
    if (n.bridge !== undefined && mtu !== undefined && (atLeast(10, 0, 1) || mtu !== 1500)) dev.host_mtu = String(mtu);
    if (atLeast(11, 0, 1)) dev.host_tunnel = 'off';
  }
  if (options.bootindex !== undefined) dev.bootindex = String(options.bootindex);
  const rom = options.oldBiosFiles ? OLD_PXE_ROMS[dev.driver!] : undefined;
  if (rom) dev.romfile = rom;
  return dev as QemuDevice;
}

/** Options of {@link netdevOptions}. */
export interface NetdevOptions {
  readonly vmid: number;
  /** /dev/vhost-net is present (vhost=on); QEMU 7.2 aborts with vhost=on without it. */
  readonly vhostNet: boolean;
}

/**
 * `netdev_add` arguments of `netN`: a tap device `tap<vmid>i<N>` created by QEMU (no scripts:
 * the driver puts it into the bridge), or user networking when the NIC has no bridge.
 */
export function netdevOptions(spec: QemuNetSpec, options: NetdevOptions): Record<string, unknown> {
  const n = spec.net;
  if (n.bridge === undefined) return { type: 'user', id: spec.key };
  const out: Record<string, unknown> = {
    type: 'tap',
    id: spec.key,
    ifname: tapName(options.vmid, spec.index),
    script: 'no',
    downscript: 'no',
    vhost: options.vhostNet && n.model === 'virtio',
  };
  if (n.queues && n.queues > 1) out.queues = n.queues;
  return out;
}

/** `-netdev` text of {@link netdevOptions}. */
export function renderNetdev(options: Record<string, unknown>): string {
  const { type, ...rest } = options;
  return [`type=${String(type)}`, ...Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'boolean' ? (v ? 'on' : 'off') : escapeOption(String(v))}`)].join(',');
}

