/**
 * The typed model of a VM config that the QEMU driver builds a command line from. Made by
 * {@link parseQemuConfig} from the raw Proxmox keys; every value here has been checked.
 *
 * @packageDocumentation
 */
import type { QemuDrive, QemuNet } from '@corral/core';

/** Drive interfaces that attach a disk or CD-ROM to the VM. */
export type QemuDiskInterface = 'ide' | 'sata' | 'scsi' | 'virtio';

/** Where a drive's medium comes from. */
export type QemuDriveSource =
  /** A storage volume `storeid:volname`. */
  | { readonly kind: 'volume'; readonly volid: string }
  /** An absolute host path (file or block device), as Proxmox allows root to write. */
  | { readonly kind: 'path'; readonly path: string }
  /** An empty CD-ROM drive (`none`). */
  | { readonly kind: 'none' }
  /** The host's CD-ROM drive (`cdrom`). */
  | { readonly kind: 'host-cdrom' };

/** One disk or CD-ROM drive (`virtio0`, `scsi1`, `ide2`...). */
export interface QemuDriveSpec {
  /** Config key, also the QEMU device id. */
  readonly key: string;
  readonly interface: QemuDiskInterface;
  readonly index: number;
  /** The parsed property string (qemu-server field names; `size` in bytes). */
  readonly drive: QemuDrive;
  readonly source: QemuDriveSource;
  /** `media=cdrom`. */
  readonly cdrom: boolean;
}

/** One network device (`netN`). */
export interface QemuNetSpec {
  readonly key: string;
  readonly index: number;
  readonly net: QemuNet;
  /** The MAC address used: the configured one, or one derived from vmid and index. */
  readonly mac: string;
}

/** One PCI passthrough device (`hostpciN`). */
export interface QemuHostPciSpec {
  readonly key: string;
  readonly index: number;
  /** Full host addresses (`0000:01:00.0`); several for multi-function devices. */
  readonly hosts: readonly string[];
  readonly pcie: boolean;
  readonly xvga: boolean;
  readonly rombar: boolean;
  readonly romfile?: string;
}

/** `agent` settings. */
export interface QemuAgentSpec {
  readonly enabled: boolean;
  /** Channel: virtio-serial (default) or ISA serial. */
  readonly type: 'virtio' | 'isa';
  readonly freezeFsOnBackup: boolean;
  readonly fstrimClonedDisks: boolean;
}

/** `cpu` settings. */
export interface QemuCpuSpec {
  /** CPU model as configured (`kvm64` when not set, qemu-server's default). */
  readonly type: string;
  /** Extra flags, each `+flag` or `-flag`. */
  readonly flags: readonly string[];
  /** Hide the hypervisor from the guest (`kvm=off`). */
  readonly hidden: boolean;
}

/** `serialN` settings. */
export type QemuSerialSpec = { readonly kind: 'socket' } | { readonly kind: 'device'; readonly path: string };

/** A checked VM config. Sizes in MiB where Proxmox uses MiB (`memory`, `balloon`). */
export interface QemuConfig {
  readonly vmid: number;
  readonly name?: string;
  /** Guest RAM, MiB (default 512). */
  readonly memoryMiB: number;
  /** Balloon target minimum in MiB; 0 means no balloon device. Default: the balloon device without minimum. */
  readonly balloonMiB?: number;
  readonly sockets: number;
  readonly cores: number;
  /** vCPUs online at start (default sockets × cores). */
  readonly vcpus: number;
  readonly cpu: QemuCpuSpec;
  /** CPU limit in host CPUs (0 or absent: none). */
  readonly cpulimit?: number;
  /** CPU weight (cgroup v1 `cpu.shares`, systemd `CPUShares`/`CPUWeight`). */
  readonly cpuunits?: number;
  /** Machine; `enableS3`/`enableS4` keep ACPI suspend to RAM / to disk on (qemu-server turns both off by default). */
  readonly machine: { readonly type: 'pc' | 'q35'; readonly qemuMachine: string; readonly viommu?: 'intel' | 'virtio'; readonly enableS3: boolean; readonly enableS4: boolean };
  readonly bios: 'seabios' | 'ovmf';
  readonly ostype?: string;
  /** Boot order: config keys of disks and NICs, first boots first. Empty: the firmware's default. */
  readonly bootOrder: readonly string[];
  readonly agent: QemuAgentSpec;
  readonly vga: { readonly type: string; readonly memoryMiB?: number };
  /** `serial0`..`serial3` by index. */
  readonly serials: ReadonlyMap<number, QemuSerialSpec>;
  readonly scsihw: string;
  readonly drives: readonly QemuDriveSpec[];
  /** `efidisk0` (the OVMF variables), when configured. */
  readonly efidisk?: { readonly key: 'efidisk0'; readonly source: QemuDriveSource; readonly format?: string; readonly efitype: '2m' | '4m' };
  readonly nets: readonly QemuNetSpec[];
  readonly hostpci: readonly QemuHostPciSpec[];
  /** `args` split into words. */
  readonly args: readonly string[];
  readonly kvm: boolean;
  readonly acpi: boolean;
  readonly tablet: boolean;
  readonly localtime: boolean;
  /** Start with the CPUs stopped (`freeze: 1`). */
  readonly freeze: boolean;
  /** `reboot: 0` makes a guest reboot end the VM. */
  readonly reboot: boolean;
  /** `smbios1` fields, decoded. */
  readonly smbios1: Readonly<Record<string, string>>;
  /** `vmgenid` UUID, when enabled. */
  readonly vmgenid?: string;
  readonly rng?: { readonly source: string; readonly maxBytes?: number; readonly periodMs?: number };
  readonly watchdog?: { readonly model: string; readonly action?: string };
  /** `hotplug` features (default network, disk, usb). */
  readonly hotplug: ReadonlySet<string>;
  /** Storage for RAM state of snapshots (`vmstatestorage`). */
  readonly vmstatestorage?: string;
  /** `vmstate` volume of a snapshot section (`storeid:volname`). */
  readonly vmstate?: string;
  /** `unusedN` volumes. */
  readonly unused: ReadonlyArray<{ readonly key: string; readonly volid: string }>;
}
