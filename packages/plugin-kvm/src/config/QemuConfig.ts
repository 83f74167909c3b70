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
  /** CPUID level reported to the guest (`level=`). */
  readonly level?: number;
  /** Physical address bits: a number, or `host` (the host's). */
  readonly physBits?: number | 'host';
  /** Guest physical address bits for the MMU (`guest-phys-bits=`). */
  readonly guestPhysBits?: number;
  /** Hyper-V vendor id reported to Windows guests (`hv-vendor-id=`). */
  readonly hvVendorId?: string;
}

/** An inclusive range of ids (`2-5` is `[2, 5]`, `3` is `[3, 3]`), as `numaN` writes CPU and host node sets. */
export type QemuIdRange = readonly [number, number];

/** One guest NUMA node of a custom topology (`numaN`). */
export interface QemuNumaNodeSpec {
  /** N of `numaN`: the guest node id. */
  readonly index: number;
  /** The guest's vCPU ids on this node. */
  readonly cpus: readonly QemuIdRange[];
  /** RAM of this node, MiB. */
  readonly memoryMiB: number;
  /** Host NUMA nodes the RAM comes from, with the allocation policy (both or neither). */
  readonly hostNodes?: readonly QemuIdRange[];
  readonly policy?: 'preferred' | 'bind' | 'interleave';
}

/** How the guest's RAM is laid out: NUMA nodes, huge pages, hot-pluggable DIMMs. */
export interface QemuMemorySpec {
  /** `numa: 1`: the RAM is split into NUMA nodes (custom `numaN`, else one per socket). */
  readonly numa: boolean;
  /** The custom topology (`numaN`, used only with `numa: 1`); empty: one node per socket. */
  readonly nodes: readonly QemuNumaNodeSpec[];
  /** `hugepages`: page size in MiB, or `any` (1 GiB where the size allows and the host has it, else 2 MiB). */
  readonly hugepages?: 2 | 1024 | 'any';
  /** `keephugepages: 1`: the huge pages stay allocated on the host after the VM stops. */
  readonly keepHugepages: boolean;
  /** `hotplug: memory`: static RAM of 1 GiB (per socket with 1 GiB pages), the rest as DIMMs that can be added at run time. */
  readonly hotplug: boolean;
}

/** `serialN` settings. */
export type QemuSerialSpec = { readonly kind: 'socket' } | { readonly kind: 'device'; readonly path: string };

/** A checked VM config. Sizes in MiB where Proxmox uses MiB (`memory`, `balloon`). */
export interface QemuConfig {
  readonly vmid: number;
  /** The QEMU version that created the VM (`meta: creation-qemu=X.Y.Z`), when recorded. */
  readonly creationQemu?: readonly [number, number];
  readonly name?: string;
  /** Guest RAM, MiB (default 512). */
  readonly memoryMiB: number;
  /** Balloon target minimum in MiB; 0 means no balloon device. Default: the balloon device without minimum. */
  readonly balloonMiB?: number;
  /** NUMA, huge pages and DIMM hotplug. */
  readonly memory: QemuMemorySpec;
  readonly sockets: number;
  readonly cores: number;
  /** vCPUs online at start (default sockets × cores). */
  readonly vcpus: number;
  readonly cpu: QemuCpuSpec;
  /** CPU limit in host CPUs (0 or absent: none). */
  readonly cpulimit?: number;
  /** CPU weight (cgroup v1 `cpu.shares`, systemd `CPUShares`/`CPUWeight`). */
  readonly cpuunits?: number;
  /**
   * Machine; `enableS3`/`enableS4` turn ACPI suspend to RAM / to disk on or off (absent: the
   * machine version's default, off from 9.2+pve1 as in qemu-server, on before); `pveRevision`
   * is Proxmox's `+pveN` suffix of a pinned type; `pxe` its `.pxe` suffix (NICs boot with the
   * old iPXE ROMs, for migration from old nodes); `awBits` the vIOMMU's address width.
   */
  readonly machine: {
    readonly type: 'pc' | 'q35';
    readonly qemuMachine: string;
    readonly pveRevision?: number;
    readonly pxe?: boolean;
    readonly viommu?: 'intel' | 'virtio';
    readonly awBits?: number;
    readonly enableS3?: boolean;
    readonly enableS4?: boolean;
  };
  readonly bios: 'seabios' | 'ovmf';
  readonly ostype?: string;
  /** Boot index by config key of disks and NICs (lower boots first), qemu-server's numbering; keys without one do not boot. */
  readonly bootIndexes: ReadonlyMap<string, number>;
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
  /** The RTC runs in local time (`localtime`; default on for Windows). */
  readonly localtime: boolean;
  /** `tdf`: QEMU re-injects lost RTC ticks (`-rtc driftfix=slew`); default on for Windows with ACPI. */
  readonly timeDriftFix: boolean;
  /** `startdate`: the fixed date and time the RTC starts at (`YYYY-MM-DD[THH:MM:SS]`); undefined for the host clock. */
  readonly startDate?: string;
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
