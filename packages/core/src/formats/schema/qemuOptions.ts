/**
 * The smaller property-string formats of VM configs (qemu-server's `$confdesc`): `memory`,
 * `boot`, `agent`, `vga`, `cpu`, `machine`, `smbios1`, `hostpciN`, `ipconfigN`, `numaN`,
 * `usbN`, `rng0`, `watchdog`, `ivshmem`, `audio0`, `spice_enhancements`, `meta`, `cicustom`.
 *
 * @packageDocumentation
 */
import { Type } from '@sinclair/typebox';
import { isIPv6 } from 'node:net';
import { Flag, VolumeIdString } from './commonFields.js';
import { Enum, Int, Str, definePropertyString } from './valueSchema.js';

const opt = Type.Optional;

/** `memory: [current=]MiB` (at least 16). */
export const qemuMemoryFormat = definePropertyString({
  name: 'memory',
  defaultKey: 'current',
  properties: { current: Int({ minimum: 16 }) },
});

/** `boot: order=scsi0;ide2;net0` (or the deprecated `legacy` letters `cdn`). */
export const qemuBootFormat = definePropertyString({
  name: 'boot',
  defaultKey: 'legacy',
  properties: {
    legacy: opt(Str({ pattern: '[acdn]{1,4}', pveMessage: "must be 1 to 4 of the letters a, c, d, n (deprecated, use 'order=')" })),
    order: opt(Str({ pveFormat: 'boot-order' })),
  },
});

/**
 * `agent: [enabled=]1|0[,fstrim_cloned_disks=1][,freeze-fs=0][,type=virtio|isa]`; `freeze-fs-on-backup` and
 * `guest-fsfreeze` are qemu-server's older names of `freeze-fs` and are kept as written.
 */
export const qemuAgentFormat = definePropertyString({
  name: 'agent',
  defaultKey: 'enabled',
  properties: {
    enabled: Type.Boolean(),
    fstrim_cloned_disks: Flag(),
    'freeze-fs': Flag(),
    'freeze-fs-on-backup': Flag(),
    'guest-fsfreeze': Flag(),
    type: opt(Enum(['virtio', 'isa'])),
  },
});

/** VGA types. */
export const QEMU_VGA_TYPES = [
  'cirrus',
  'qxl',
  'qxl2',
  'qxl3',
  'qxl4',
  'none',
  'serial0',
  'serial1',
  'serial2',
  'serial3',
  'std',
  'virtio',
  'virtio-gl',
  'vmware',
] as const;

/** `vga: [type=]std[,memory=MiB][,clipboard=vnc]`. */
export const qemuVgaFormat = definePropertyString({
  name: 'vga',
  defaultKey: 'type',
  properties: {
    type: opt(Enum(QEMU_VGA_TYPES)),
    memory: opt(Int({ minimum: 4, maximum: 512 })),
    clipboard: opt(Enum(['vnc'])),
  },
});

export { QEMU_VM_CPU_FLAGS } from './pveFormats.js';

/**
 * `cpu: [cputype=]host[,flags=+aes;-pcid][,hidden=1][,hv-vendor-id=X][,phys-bits=host|8-64][,guest-phys-bits=32-64]
 * [,level=N]` (`level` is QEMU's uint32 CPUID level).
 */
export const qemuCpuFormat = definePropertyString({
  name: 'cpu',
  defaultKey: 'cputype',
  properties: {
    cputype: Str({ pattern: '[A-Za-z0-9_.+-]+', pveMessage: "is not a CPU type name (such as host, x86-64-v2-AES, or custom-NAME)" }),
    hidden: Flag(),
    'hv-vendor-id': opt(Str({ pattern: '[a-zA-Z0-9]{1,12}', pveMessage: 'must be 1 to 12 letters or digits' })),
    flags: opt(Str({ pveFormat: 'cpu-flags' })),
    'phys-bits': opt(
      Str({ pattern: 'host|[89]|[1-5]\\d|6[0-4]', pveMessage: "must be 'host' or a number of bits from 8 to 64" }),
    ),
    'guest-phys-bits': opt(Int({ minimum: 32, maximum: 64 })),
    level: opt(Int({ minimum: 0, maximum: 4294967295 })),
  },
});

/** Machine types: `pc`, `q35`, versioned (`pc-i440fx-8.1`, `pc-q35-9.0+pve1`, `.pxe`) and ARM `virt`. */
export const QEMU_MACHINE_TYPE_PATTERN =
  'pc|pc(?:-i440fx)?-\\d+(?:\\.\\d+)+(?:\\+pve\\d+)?(?:\\.pxe)?|q35|pc-q35-\\d+(?:\\.\\d+)+(?:\\+pve\\d+)?(?:\\.pxe)?|virt(?:-\\d+(?:\\.\\d+)+)?(?:\\+pve\\d+)?';

/** `machine: [type=]q35[,viommu=intel|virtio][,enable-s3=0][,enable-s4=0]`. */
export const qemuMachineFormat = definePropertyString({
  name: 'machine',
  defaultKey: 'type',
  properties: {
    type: opt(
      Str({
        pattern: QEMU_MACHINE_TYPE_PATTERN,
        maxLength: 40,
        pveMessage: "is not a machine type (pc, q35, pc-i440fx-X.Y, pc-q35-X.Y[+pveN][.pxe], virt)",
      }),
    ),
    viommu: opt(Enum(['intel', 'virtio'])),
    'enable-s3': Flag(),
    'enable-s4': Flag(),
    'aw-bits': opt(Int({ minimum: 32, maximum: 64 })),
  },
  refine: (m) => (m.viommu === 'intel' && !(m.type ?? '').includes('q35') ? 'viommu=intel needs a q35 machine type' : undefined),
});

/** An SMBIOS string as qemu-server's `$smbios1_fmt` allows it: base64 characters (the value itself with `base64=0`). */
const Base64ish = () => opt(Str({ pattern: '[A-Za-z0-9+/]+={0,2}', pveMessage: "must be base64 characters (A-Z, a-z, 0-9, '+', '/', up to two '=' at the end)" }));

/**
 * `smbios1: uuid=...[,manufacturer=...][,product=...][,version=...][,serial=...][,sku=...][,family=...][,base64=1]`,
 * at most 512 characters (qemu-server's limit).
 */
export const qemuSmbios1Format = definePropertyString({
  name: 'smbios1',
  maxLength: 512,
  properties: {
    uuid: opt(Str({ pattern: '[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}', pveMessage: 'is not a UUID' })),
    version: Base64ish(),
    serial: Base64ish(),
    manufacturer: Base64ish(),
    product: Base64ish(),
    sku: Base64ish(),
    family: Base64ish(),
    base64: Flag(),
  },
});

const PCI_ID = '(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?';
const HexId = () => opt(Str({ pattern: '0x[0-9a-fA-F]{4}', pveMessage: "must be '0x' and 4 hex digits" }));

/** `hostpciN: [host=]0000:01:00.0[;...][,pcie=1][,x-vga=1]...` or `mapping=ID`. */
export const qemuHostpciFormat = definePropertyString({
  name: 'hostpci',
  defaultKey: 'host',
  properties: {
    host: opt(Str({ pattern: `${PCI_ID}(?:;${PCI_ID})*`, pveMessage: "is not a PCI id such as 0000:01:00.0 (several separated by ';')" })),
    mapping: opt(Str({ pveFormat: 'config-id' })),
    rombar: Flag(),
    romfile: opt(Str({ pattern: '[^,;]+' })),
    pcie: Flag(),
    'x-vga': Flag(),
    'legacy-igd': Flag(),
    mdev: opt(Str({ pattern: '[^/.:]+' })),
    'vendor-id': HexId(),
    'device-id': HexId(),
    'sub-vendor-id': HexId(),
    'sub-device-id': HexId(),
  },
  refine: (d) => {
    if (d.host !== undefined && d.mapping !== undefined) return "cannot set both 'host' and 'mapping'";
    if (d.host === undefined && d.mapping === undefined) return "either 'host' or 'mapping' must be set";
    return undefined;
  },
});

/** `ipconfigN: [ip=dhcp|CIDR][,gw=IPv4][,ip6=auto|dhcp|CIDR][,gw6=IPv6]` (cloud-init). */
export const qemuIpconfigFormat = definePropertyString({
  name: 'ipconfig',
  properties: {
    ip: opt(Str({ pveFormat: 'ipv4-config' })),
    gw: opt(Str({ pveFormat: 'ipv4' })),
    ip6: opt(Str({ pveFormat: 'ipv6-config' })),
    gw6: opt(Str({ pveFormat: 'ipv6' })),
  },
  refine: (c) => {
    if (c.gw !== undefined && c.ip === undefined) return 'gateway given without an IPv4 address';
    if (c.gw6 !== undefined && c.ip6 === undefined) return 'IPv6 gateway given without an IPv6 address';
    if (c.gw !== undefined && c.ip === 'dhcp') return 'gateway given together with DHCP';
    if (c.gw6 !== undefined && c.ip6 !== undefined && !isIPv6(c.ip6.split('/')[0]!)) return `IPv6 gateway given together with ${c.ip6}`;
    return undefined;
  },
});

const NUMBER_SETS = '\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*';

/** `numaN: cpus=0-3[,hostnodes=0][,memory=MiB][,policy=bind]`. */
export const qemuNumaFormat = definePropertyString({
  name: 'numa',
  properties: {
    cpus: Str({ pattern: NUMBER_SETS, pveMessage: "must be CPU ids or ranges separated by ';' (e.g. 0-3;8)" }),
    hostnodes: opt(Str({ pattern: NUMBER_SETS, pveMessage: "must be node ids or ranges separated by ';'" })),
    memory: opt(Int({ minimum: 1 })),
    policy: opt(Enum(['preferred', 'bind', 'interleave'])),
  },
});

/** `usbN: [host=]VENDOR:PRODUCT|BUS-PORT|spice[,usb3=1]` or `mapping=ID`. */
export const qemuUsbFormat = definePropertyString({
  name: 'usb',
  defaultKey: 'host',
  properties: {
    host: opt(
      Str({
        pattern: '[Ss][Pp][Ii][Cc][Ee]|(?:0x)?[0-9a-fA-F]{4}:(?:0x)?[0-9a-fA-F]{4}|\\d+-\\d+(?:\\.\\d+)*',
        pveMessage: "must be 'spice', VENDOR:PRODUCT (hex) or BUS-PORT",
      }),
    ),
    mapping: opt(Str({ pveFormat: 'config-id' })),
    usb3: Flag(),
  },
});

/** `rng0: [source=]/dev/urandom[,max_bytes=N][,period=ms]`. */
export const qemuRngFormat = definePropertyString({
  name: 'rng0',
  defaultKey: 'source',
  properties: {
    source: Enum(['/dev/urandom', '/dev/random', '/dev/hwrng']),
    max_bytes: opt(Int({ minimum: 0 })),
    period: opt(Int({ minimum: 0 })),
  },
});

/** `watchdog: [model=]i6300esb|ib700[,action=reset|...]`. */
export const qemuWatchdogFormat = definePropertyString({
  name: 'watchdog',
  defaultKey: 'model',
  properties: {
    model: opt(Enum(['i6300esb', 'ib700'])),
    action: opt(Enum(['reset', 'shutdown', 'poweroff', 'pause', 'debug', 'none'])),
  },
});

/** `ivshmem: size=MiB[,name=NAME]`. */
export const qemuIvshmemFormat = definePropertyString({
  name: 'ivshmem',
  properties: {
    size: Int({ minimum: 1 }),
    name: opt(Str({ pattern: '[a-zA-Z0-9-]+' })),
  },
});

/** `audio0: device=ich9-intel-hda|intel-hda|AC97[,driver=spice|none]`. */
export const qemuAudioFormat = definePropertyString({
  name: 'audio0',
  properties: {
    device: Enum(['ich9-intel-hda', 'intel-hda', 'AC97']),
    driver: opt(Enum(['spice', 'none'])),
  },
});

/** `spice_enhancements: [foldersharing=1][,videostreaming=off|all|filter]`. */
export const qemuSpiceEnhancementsFormat = definePropertyString({
  name: 'spice_enhancements',
  properties: {
    foldersharing: Flag(),
    videostreaming: opt(Enum(['off', 'all', 'filter'])),
  },
});

/** `meta: creation-qemu=9.0.2,ctime=1717000000` (written by Proxmox at creation). */
export const qemuMetaFormat = definePropertyString({
  name: 'meta',
  properties: {
    'creation-qemu': opt(Str({ pattern: '\\d+(?:\\.\\d+)+', pveMessage: 'is not a QEMU version such as 9.0.2' })),
    ctime: opt(Int({ minimum: 0 })),
  },
});

/** `cicustom: [user=VOLUME][,network=VOLUME][,meta=VOLUME][,vendor=VOLUME]`. */
export const qemuCicustomFormat = definePropertyString({
  name: 'cicustom',
  properties: {
    meta: opt(VolumeIdString()),
    network: opt(VolumeIdString()),
    user: opt(VolumeIdString()),
    vendor: opt(VolumeIdString()),
  },
});
