/**
 * Config → argv, as tables (pve-storage style): every row is a config, the volumes storage
 * resolved for it, the host's features, and the options that must (or must not) appear.
 * Pure: no QEMU runs here (QemuLifecycle.test.ts boots the same command lines for real).
 */
import test from 'ava';
import type { VolumeAccess } from '@corral/core';
import { buildQemuCommandLine, type QemuHostFeatures } from '../src/cmdline/QemuCommandLine.js';
import { parseQemuConfig } from '../src/config/parseQemuConfig.js';
import { qemuRunPaths } from '../src/runtime/QemuRunPaths.js';

const RUN = '/run/corral/qemu/100';
const TCG: QemuHostFeatures = { kvm: false, vhostNet: false };
const KVM: QemuHostFeatures = { kvm: true, vhostNet: true, ovmf: { '4m': { code: '/fw/CODE_4M.fd', vars: '/fw/VARS_4M.fd' } } };
const qcow = (path: string): VolumeAccess => ({ kind: 'file', path, format: 'qcow2' });
/** Block node options that recur: O_DIRECT, the page cache, a writable node without discard. */
const DIRECT = { direct: true, 'no-flush': false };
const PAGE_CACHE = { direct: false, 'no-flush': false };
const RW_NO_DISCARD = { 'read-only': false, discard: 'ignore', 'detect-zeroes': 'on' };

/** Every value given to `flag`, in order. */
function values(argv: readonly string[], flag: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === flag && i + 1 < argv.length) out.push(argv[i + 1]!);
  });
  return out;
}

function build(entries: Record<string, string>, options: { host?: QemuHostFeatures; volumes?: Record<string, VolumeAccess> } = {}) {
  const config = parseQemuConfig(entries, { vmid: 100 });
  return buildQemuCommandLine({
    config,
    paths: qemuRunPaths(RUN),
    host: options.host ?? TCG,
    volumes: new Map(Object.entries(options.volumes ?? {})),
    paused: true,
    daemonize: true,
  });
}

interface Row {
  description: string;
  entries: Record<string, string>;
  host?: QemuHostFeatures;
  volumes?: Record<string, VolumeAccess>;
  /** flag → values that must all be among the flag's values. */
  has: Record<string, string[]>;
  /** flag → values that must not appear. */
  hasNot?: Record<string, string[]>;
  /** Exact argv tail (after every option the driver adds). */
  tail?: string[];
  accel?: 'kvm' | 'tcg';
  /** Must match the builder's `accelReason`. */
  accelReason?: RegExp;
  warning?: RegExp;
  /** No warning may match. */
  noWarning?: RegExp;
}

const rows: Row[] = [
  {
    description: 'defaults: pc, SeaBIOS, 512 MiB, 1 vCPU, VGA + tablet + balloon, QMP x2, pid file, VNC on a unix socket, TCG with a warning',
    entries: {},
    has: {
      '-machine': ['type=pc'],
      '-accel': ['tcg'],
      '-m': ['512'],
      '-smp': ['1,sockets=1,cores=1,maxcpus=1'],
      '-cpu': ['kvm64,enforce,+lahf_lm,+sep'],
      '-boot': ['menu=on,strict=on,reboot-timeout=1000'],
      '-chardev': [`socket,id=qmp,path=${RUN}/qmp.sock,server=on,wait=off`, `socket,id=qmp-status,path=${RUN}/qmp-status.sock,server=on,wait=off`],
      '-mon': ['chardev=qmp,mode=control', 'chardev=qmp-status,mode=control'],
      '-pidfile': [`${RUN}/qemu.pid`],
      '-D': [`${RUN}/qemu.log`],
      '-vnc': [`unix:${RUN}/vnc.sock`],
      '-device': ['VGA,id=vga,bus=pci.0,addr=0x2', 'piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2', 'usb-tablet,id=tablet,bus=uhci.0,port=1', 'virtio-balloon-pci,id=balloon0,free-page-reporting=on,bus=pci.0,addr=0x3'],
      '-name': ['guest=vm100,debug-threads=on'],
    },
    accel: 'tcg',
    warning: /TCG/,
  },
  {
    description: "KVM host: -accel kvm, qemu-server's default kvm64 with PV flags, no kvm-pit policy for Linux, vhost=on for virtio NICs",
    entries: { net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0' },
    host: KVM,
    has: {
      '-accel': ['kvm'],
      '-cpu': ['kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep'],
      '-global': ['PIIX4_PM.disable_s3=1', 'PIIX4_PM.disable_s4=1'],
      '-netdev': ['type=tap,id=net0,ifname=tap100i0,script=no,downscript=no,vhost=on'],
    },
    hasNot: { '-global': ['kvm-pit.lost_tick_policy=discard'] },
    accel: 'kvm',
  },
  {
    // qemu-server pins a Windows VM's machine: without a creation record, to 5.1 (S3/S4 on, as before 9.2+pve1)
    description: 'Windows under KVM: the kvm-pit lost-tick policy and Hyper-V enlightenments (sorted); an unpinned Windows VM runs machine 5.1',
    entries: { ostype: 'win10', machine: 'q35' },
    host: KVM,
    has: {
      '-global': ['kvm-pit.lost_tick_policy=discard'],
      '-machine': ['type=pc-q35-5.1,hpet=off'],
      '-cpu': ['kvm64,enforce,hv_ipi,hv_relaxed,hv_reset,hv_runtime,hv_spinlocks=0x1fff,hv_stimer,hv_synic,hv_time,hv_vapic,hv_vpindex,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep'],
    },
    hasNot: { '-global': ['ICH9-LPC.disable_s3=1', 'ICH9-LPC.disable_s4=1'] },
  },
  {
    description: 'Windows on machine 9.2+pve1: S3/S4 off by default, machine enable-s3=1 keeps S3',
    entries: { ostype: 'win10', machine: 'pc-q35-9.2+pve1,enable-s3=1' },
    host: KVM,
    has: { '-global': ['kvm-pit.lost_tick_policy=discard', 'ICH9-LPC.disable_s4=1'] },
    hasNot: { '-global': ['ICH9-LPC.disable_s3=1'] },
  },
  {
    description: 'the KVM probe said no: TCG, and the warning says why',
    entries: {},
    host: { ...KVM, kvm: false, kvmReason: 'KVM probe failed: the probe guest did not finish within 3000 ms' },
    has: { '-accel': ['tcg'], '-cpu': ['kvm64,enforce,+lahf_lm,+sep'] },
    hasNot: { '-global': ['kvm-pit.lost_tick_policy=discard'] },
    accel: 'tcg',
    accelReason: /^KVM probe failed: the probe guest did not finish within 3000 ms$/,
    warning: /^KVM probe failed: the probe guest did not finish within 3000 ms; running under TCG/,
  },
  {
    description: 'TCG forced by the embedder: no fallback warning',
    entries: {},
    host: { ...KVM, kvm: false, kvmReason: 'TCG forced by CORRAL_QEMU_ACCEL=tcg', accelForced: true },
    has: { '-accel': ['tcg'] },
    accel: 'tcg',
    accelReason: /CORRAL_QEMU_ACCEL=tcg/,
    noWarning: /TCG/,
  },
  {
    description: "cpu host that this host's KVM cannot run (probe: MSR abort) becomes x86-64-v2-AES under KVM, with a warning",
    entries: { cpu: 'host,flags=-pcid' },
    host: { ...KVM, kvmCpuUnusable: { host: 'QEMU -accel kvm -cpu host was killed by SIGABRT: failed to set MSR 0x10a' } },
    // qemu-server's x86-64-v2-AES: qemu64 plus its flags, every flag sorted by name
    has: { '-accel': ['kvm'], '-cpu': ['qemu64,+aes,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,-pcid,+pni,+popcnt,+sse4.1,+sse4.2,+ssse3'] },
    accel: 'kvm',
    warning: /cpu 'host' does not run under this host's KVM \(.*MSR 0x10a\): using 'x86-64-v2-AES'/,
  },
  {
    description: 'cpu host with a KVM that runs it stays host (not enforced; the KVM paravirt flags)',
    entries: { cpu: 'host' },
    host: { ...KVM, kvmCpuUnusable: { max: 'aborts' } },
    has: { '-accel': ['kvm'], '-cpu': ['host,+kvm_pv_eoi,+kvm_pv_unhalt'] },
    accel: 'kvm',
  },
  {
    description: 'kvm: 0 forces TCG even with /dev/kvm (no warning about a missing KVM)',
    entries: { kvm: '0' },
    host: KVM,
    has: { '-accel': ['tcg'] },
    accel: 'tcg',
    accelReason: /kvm: 0/,
    noWarning: /TCG/,
  },
  {
    description: 'name, memory, sockets × cores, vcpus, q35 with its hotplug bridge, acpi off',
    entries: { name: 'web-1', memory: '2048', sockets: '2', cores: '4', vcpus: '6', machine: 'q35', acpi: '0' },
    has: {
      '-name': ['guest=web-1,debug-threads=on'],
      '-m': ['2048'],
      '-smp': ['6,sockets=2,cores=4,maxcpus=8'],
      '-machine': ['type=q35,acpi=off'],
      '-device': ['pci-bridge,id=pci.1,bus=pcidmi,addr=2.0,chassis_nr=2', 'ich9-usb-ehci1,id=ehci,multifunction=on,bus=pcie.0,addr=1d.7', 'usb-tablet,id=tablet,bus=ehci.0,port=1', 'VGA,id=vga,bus=pcie.0,addr=0x1'],
    },
  },
  {
    description: 'cpu host under TCG becomes max (with a warning), not enforced as host is not; flags and hidden kept',
    entries: { cpu: 'host,flags=+aes;-pcid,hidden=1' },
    has: { '-cpu': ['max,+aes,kvm=off,-pcid'] },
    warning: /'host' needs KVM/,
  },
  {
    description: 'balloon: 0 removes the balloon device; vga none removes VGA and tablet',
    entries: { balloon: '0', vga: 'none' },
    has: {},
    hasNot: { '-device': ['virtio-balloon-pci,id=balloon0,free-page-reporting=on', 'VGA,id=vga,bus=pci.0,addr=0x2', 'usb-tablet,id=tablet,bus=uhci.0,port=1'] },
  },
  {
    description: 'vga serial0 uses the serial port as console; serial0 socket in the run dir',
    entries: { vga: 'serial0', serial0: 'socket' },
    has: {
      // logfile: the guest's output is in serial0.log even when no client is connected
      '-chardev': [`socket,id=serial0,path=${RUN}/serial0.sock,server=on,wait=off,logfile=${RUN}/serial0.log`],
      '-device': ['isa-serial,chardev=serial0,id=serial0'],
    },
    hasNot: { '-device': ['VGA,id=vga,bus=pci.0,addr=0x2'] },
  },
  {
    description: 'vga types and memory',
    entries: { vga: 'qxl2,memory=64' },
    has: { '-device': ['qxl-vga,id=vga,vgamem_mb=64,bus=pci.0,addr=0x2', 'qxl,id=vga1,vgamem_mb=64,bus=pci.0,addr=0x18'] },
  },
  {
    description: 'agent: virtio-serial port org.qemu.guest_agent.0 on a socket',
    entries: { agent: 'enabled=1,fstrim_cloned_disks=1' },
    has: {
      '-chardev': [`socket,id=qga0,path=${RUN}/qga.sock,server=on,wait=off`],
      '-device': ['virtio-serial,id=qga0,bus=pci.0,addr=0x8', 'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0'],
    },
  },
  {
    description: 'agent: 0 adds no channel',
    entries: { agent: '0' },
    has: {},
    hasNot: { '-device': ['virtio-serial,id=qga0,bus=pci.0,addr=0x8'] },
  },
  {
    description: 'virtio disk: file + qcow2 blockdev nodes, cache none (O_DIRECT), serial, bootindex',
    entries: { virtio0: 'local:100/vm-100-disk-0.qcow2,size=8G,serial=DISK%2C1', boot: 'order=virtio0' },
    volumes: { virtio0: qcow('/vz/images/100/vm-100-disk-0.qcow2') },
    has: {
      // one nested graph as qemu-server builds it: throttle (empty group) → qcow2 → file, io_uring by default
      '-object': [JSON.stringify({ 'qom-type': 'throttle-group', id: 'throttle-drive-virtio0', limits: {} })],
      '-blockdev': [
        JSON.stringify({
          driver: 'throttle',
          'node-name': 'drive-virtio0',
          'throttle-group': 'throttle-drive-virtio0',
          file: {
            driver: 'qcow2',
            'node-name': 'fmt-virtio0',
            file: { driver: 'file', filename: '/vz/images/100/vm-100-disk-0.qcow2', cache: DIRECT, aio: 'io_uring', 'node-name': 'file-virtio0', ...RW_NO_DISCARD },
            cache: DIRECT,
            ...RW_NO_DISCARD,
          },
          ...RW_NO_DISCARD,
        }),
      ],
      // serial is URL-decoded (DISK,1) and its comma doubled for QEMU's option parser
      '-device': ['virtio-blk-pci,drive=drive-virtio0,id=virtio0,serial=DISK,,1,bootindex=100,write-cache=on,bus=pci.0,addr=0xa'],
      '-boot': [],
    },
  },
  {
    description: 'SCSI on virtio-scsi-pci: one controller, LUN = index; writethrough turns the write cache off',
    entries: { scsihw: 'virtio-scsi-pci', scsi0: 'local:vm-100-disk-0.raw,cache=writethrough', scsi3: 'local:vm-100-disk-1.raw,ssd=1' },
    volumes: { scsi0: { kind: 'file', path: '/d0.raw', format: 'raw' }, scsi3: { kind: 'file', path: '/d1.raw', format: 'raw' } },
    has: {
      '-device': [
        'virtio-scsi-pci,id=scsihw0,bus=pci.0,addr=0x5',
        'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0,id=scsi0,device_id=drive-scsi0,write-cache=off',
        'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=3,drive=drive-scsi3,id=scsi3,rotation_rate=1,device_id=drive-scsi3,write-cache=on',
      ],
    },
  },
  {
    description: 'SCSI on lsi (the default): 7 targets per controller, scsi-id = index mod 7',
    entries: { scsi0: 'local:a.raw', scsi8: 'local:b.raw' },
    volumes: { scsi0: { kind: 'file', path: '/a', format: 'raw' }, scsi8: { kind: 'file', path: '/b', format: 'raw' } },
    has: { '-device': ['lsi,id=scsihw0,bus=pci.0,addr=0x5', 'lsi,id=scsihw1,bus=pci.0,addr=0x6', 'scsi-hd,bus=scsihw1.0,scsi-id=1,drive=drive-scsi8,id=scsi8,device_id=drive-scsi8,write-cache=on'] },
  },
  {
    description: 'virtio-scsi-single: one controller per disk, with its iothread',
    entries: { scsihw: 'virtio-scsi-single', scsi1: 'local:a.raw,iothread=1' },
    volumes: { scsi1: { kind: 'file', path: '/a', format: 'raw' } },
    has: {
      '-object': ['iothread,id=iothread-scsi1'],
      '-device': ['virtio-scsi-pci,id=virtioscsi1,iothread=iothread-scsi1,bus=pci.3,addr=0x2', 'scsi-hd,bus=virtioscsi1.0,channel=0,scsi-id=0,lun=1,drive=drive-scsi1,id=scsi1,device_id=drive-scsi1,write-cache=on'],
    },
  },
  {
    description: 'SATA disk on AHCI, IDE CD-ROM with an ISO (read-only, page cache), empty CD-ROM',
    entries: { sata0: 'local:a.raw', ide2: 'local:iso/debian.iso,media=cdrom', ide3: 'none,media=cdrom' },
    volumes: { sata0: { kind: 'file', path: '/a', format: 'raw' }, ide2: { kind: 'file', path: '/iso/debian.iso', format: 'iso' } },
    has: {
      '-device': ['ahci,id=ahci0,multifunction=on,bus=pci.0,addr=0x7', 'ide-hd,bus=ahci0.0,drive=drive-sata0,id=sata0,write-cache=on', 'ide-cd,bus=ide.1,unit=0,drive=drive-ide2,id=ide2,bootindex=200', 'ide-cd,bus=ide.1,unit=1,id=ide3,bootindex=201'],
      // a CD-ROM: page cache, read-only, no discard or zero detection on any node
      '-blockdev': [
        JSON.stringify({
          driver: 'throttle',
          'node-name': 'drive-ide2',
          'throttle-group': 'throttle-drive-ide2',
          file: { driver: 'raw', 'node-name': 'fmt-ide2', file: { driver: 'file', filename: '/iso/debian.iso', cache: PAGE_CACHE, aio: 'io_uring', 'node-name': 'file-ide2', 'read-only': true }, cache: PAGE_CACHE, 'read-only': true },
          'read-only': true,
        }),
      ],
    },
  },
  {
    description: 'q35 IDE: one unit per bus',
    entries: { machine: 'q35', ide2: 'none,media=cdrom' },
    has: { '-device': ['ide-cd,bus=ide.1,unit=0,id=ide2,bootindex=200'] },
  },
  {
    description: 'a block device, an rbd volume (storage blockdev JSON) and I/O limits (throttle group)',
    entries: { virtio0: 'local:vm-100-disk-0.raw,mbps=10,iops=200', virtio1: 'ceph:vm-100-disk-1,aio=native' },
    volumes: {
      virtio0: { kind: 'block', path: '/dev/zvol/x', format: 'raw' },
      virtio1: { kind: 'qemu', blockdev: { driver: 'rbd', pool: 'rbd', image: 'vm-100-disk-1', conf: '/etc/ceph/ceph.conf' }, url: 'rbd:rbd/vm-100-disk-1', format: 'raw' },
    },
    has: {
      '-object': [
        JSON.stringify({ 'qom-type': 'throttle-group', id: 'throttle-drive-virtio0', limits: { 'bps-total': 10485760, 'iops-total': 200 } }),
        JSON.stringify({ 'qom-type': 'throttle-group', id: 'throttle-drive-virtio1', limits: {} }),
      ],
      '-blockdev': [
        JSON.stringify({
          driver: 'throttle',
          'node-name': 'drive-virtio0',
          'throttle-group': 'throttle-drive-virtio0',
          file: { driver: 'raw', 'node-name': 'fmt-virtio0', file: { driver: 'host_device', filename: '/dev/zvol/x', cache: DIRECT, aio: 'io_uring', 'node-name': 'file-virtio0', ...RW_NO_DISCARD }, cache: DIRECT, ...RW_NO_DISCARD },
          ...RW_NO_DISCARD,
        }),
        // the storage's protocol node, no aio (QEMU's rbd driver has none)
        JSON.stringify({
          driver: 'throttle',
          'node-name': 'drive-virtio1',
          'throttle-group': 'throttle-drive-virtio1',
          file: { driver: 'raw', 'node-name': 'fmt-virtio1', file: { driver: 'rbd', pool: 'rbd', image: 'vm-100-disk-1', conf: '/etc/ceph/ceph.conf', cache: DIRECT, 'node-name': 'file-virtio1', ...RW_NO_DISCARD }, cache: DIRECT, ...RW_NO_DISCARD },
          ...RW_NO_DISCARD,
        }),
      ],
      '-device': ['virtio-blk-pci,drive=drive-virtio0,id=virtio0,write-cache=on,bus=pci.0,addr=0xa', 'virtio-blk-pci,drive=drive-virtio1,id=virtio1,write-cache=on,bus=pci.0,addr=0xb'],
    },
  },
  {
    description: 'NICs: bridged tap without vhost (no /dev/vhost-net), user networking without bridge, e1000, multiqueue',
    entries: { net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=2', net1: 'e1000=BC:24:11:00:00:02', boot: 'order=net1' },
    has: {
      '-netdev': ['type=tap,id=net0,ifname=tap100i0,script=no,downscript=no,vhost=off,queues=2', 'type=user,id=net1'],
      '-device': ['virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0,id=net0,mq=on,vectors=6,packed=on,rx_queue_size=1024,tx_queue_size=256,host_mtu=1500,host_tunnel=off,bus=pci.0,addr=0x12', 'e1000,mac=BC:24:11:00:00:02,netdev=net1,id=net1,bootindex=100,bus=pci.0,addr=0x13'],
    },
  },
  {
    description: 'legacy boot cdn with bootdisk',
    entries: { boot: 'cdn', bootdisk: 'virtio0', virtio0: 'local:a.raw', ide2: 'none,media=cdrom', net0: 'virtio=BC:24:11:00:00:01' },
    volumes: { virtio0: { kind: 'file', path: '/a', format: 'raw' } },
    has: {
      '-device': ['virtio-blk-pci,drive=drive-virtio0,id=virtio0,bootindex=100,write-cache=on,bus=pci.0,addr=0xa', 'ide-cd,bus=ide.1,unit=0,id=ide2,bootindex=200', 'virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0,id=net0,rx_queue_size=1024,tx_queue_size=256,host_tunnel=off,bootindex=300,bus=pci.0,addr=0x12'],
    },
  },
  {
    description: 'OVMF with a temporary vars copy (warning) on q35',
    entries: { bios: 'ovmf', machine: 'q35' },
    host: KVM,
    has: {
      '-machine': ['type=q35,pflash0=pflash0,pflash1=drive-efidisk0'],
      '-blockdev': [
        JSON.stringify({ driver: 'raw', file: { driver: 'file', filename: '/fw/CODE_4M.fd' }, 'node-name': 'pflash0', 'read-only': true }),
        JSON.stringify({
          driver: 'throttle',
          'node-name': 'drive-efidisk0',
          'throttle-group': 'throttle-drive-efidisk0',
          file: { driver: 'raw', 'node-name': 'fmt-efidisk0', file: { driver: 'file', filename: `${RUN}/efivars.fd`, cache: PAGE_CACHE, aio: 'io_uring', 'node-name': 'file-efidisk0', ...RW_NO_DISCARD }, cache: PAGE_CACHE, ...RW_NO_DISCARD },
          ...RW_NO_DISCARD,
        }),
      ],
    },
    warning: /no efidisk0/,
  },
  {
    description: 'PCI passthrough: vfio-pci, pcie root port on q35, x-vga, multi-function',
    entries: { machine: 'q35', hostpci0: '0000:01:00.0,pcie=1,x-vga=1', hostpci1: '02:00.0;02:00.1,rombar=0' },
    has: {
      '-device': [
        'pcie-root-port,x-speed=16,x-width=32,id=ich9-pcie-port-1,multifunction=on,bus=pcie.0,addr=1c.0,port=1,chassis=1',
        'vfio-pci,host=0000:01:00.0,id=hostpci0,bus=ich9-pcie-port-1,addr=0x0,x-vga=on',
        'vfio-pci,host=0000:02:00.0,id=hostpci1.0,bus=pci.0,addr=0x11.0,multifunction=on,rombar=0',
        'vfio-pci,host=0000:02:00.1,id=hostpci1.1,bus=pci.0,addr=0x11.1,rombar=0',
      ],
    },
  },
  {
    description: 'misc devices: watchdog, rng, vmgenid, smbios, localtime for Windows, no reboot',
    entries: {
      watchdog: 'model=i6300esb,action=reset',
      rng0: 'source=/dev/urandom,max_bytes=1024,period=1000',
      vmgenid: '8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c',
      smbios1: 'uuid=8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c,manufacturer=QUNNRSwgSW5jLg==,base64=1',
      ostype: 'win10',
      reboot: '0',
    },
    has: {
      '-device': ['i6300esb,id=watchdog,bus=pci.0,addr=0x4', 'virtio-rng-pci,rng=rng0,id=rng0,max-bytes=1024,period=1000,bus=pci.1,addr=0x1d', 'vmgenid,guid=8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c'],
      '-action': ['watchdog=reset'],
      '-object': ['rng-random,filename=/dev/urandom,id=rng0'],
      '-smbios': ['type=1,uuid=8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c,manufacturer=ACME,, Inc.'],
      '-rtc': ['driftfix=slew,base=localtime'],
      '-no-reboot': [],
    },
  },
  {
    description: 'args: quote-aware split, appended last, no shell',
    entries: { args: `-kernel /boot/vmlinuz -initrd '/boot/initrd img' -append "console=ttyS0 quiet \\"x\\"" -device x\\,y` },
    has: {},
    tail: ['-kernel', '/boot/vmlinuz', '-initrd', '/boot/initrd img', '-append', 'console=ttyS0 quiet "x"', '-device', 'x,y'],
  },
];

for (const row of rows) {
  test(`argv: ${row.description}`, (t) => {
    const cl = build(row.entries, { host: row.host, volumes: row.volumes });
    const argv = cl.argv;
    t.is(argv[0], 'qemu-system-x86_64');
    t.true(argv.includes('-daemonize') && argv.includes('-S') && argv.includes('-nodefaults'));
    for (const [flag, expected] of Object.entries(row.has)) {
      if (expected.length === 0) {
        if (flag !== '-boot') t.true(argv.includes(flag), `${flag} present`);
        continue;
      }
      const got = values(argv, flag);
      for (const v of expected) t.true(got.includes(v), `${flag} ${v}\n  got: ${got.join('\n       ')}`);
    }
    for (const [flag, unexpected] of Object.entries(row.hasNot ?? {})) {
      const got = values(argv, flag);
      for (const v of unexpected) t.false(got.includes(v), `${flag} ${v} must not appear`);
    }
    if (row.tail) t.deepEqual(argv.slice(-row.tail.length), row.tail);
    if (row.accel) t.is(cl.accel, row.accel);
    if (row.accelReason) t.regex(cl.accelReason, row.accelReason);
    if (row.noWarning) t.false(cl.warnings.some((w) => row.noWarning!.test(w)), cl.warnings.join('; '));
    if (row.warning) t.true(cl.warnings.some((w) => row.warning!.test(w)), cl.warnings.join('; '));
    else if (row.accel === 'kvm') t.deepEqual(cl.warnings, []);
  });
}

test('argv: a drive that was not resolved fails naming the key', (t) => {
  const err = t.throws(() => build({ virtio0: 'local:a.raw' }));
  t.is((err as { key?: string }).key, 'virtio0');
});

test('argv: ovmf without firmware is UnavailableError', (t) => {
  const err = t.throws(() => build({ bios: 'ovmf' }, { host: TCG }));
  t.is((err as { code?: string }).code, 'CORRAL_ERR_UNAVAILABLE');
});

test('machine versions: free page reporting from machine 6.2, as qemu-server', (t) => {
  const balloon = (machine: string): string | undefined => values(build({ machine }).argv, '-device').find((d) => d.startsWith('virtio-balloon-pci'));
  const at3 = ',bus=pci.0,addr=0x3';
  t.is(balloon('pc'), `virtio-balloon-pci,id=balloon0,free-page-reporting=on${at3}`);
  t.is(balloon('pc-q35-6.2'), `virtio-balloon-pci,id=balloon0,free-page-reporting=on${at3}`);
  t.is(balloon('pc-i440fx-6.1'), `virtio-balloon-pci,id=balloon0${at3}`);
  t.is(balloon('pc-i440fx-5.2+pve0'), `virtio-balloon-pci,id=balloon0${at3}`);
});

test('machine versions: ACPI S3/S4 off from 9.2+pve1, NIC queue sizes from 7.1, host_mtu from 10.0+pve1, host_tunnel from 11.0+pve1; the host QEMU versions pc/q35', (t) => {
  const run = (entries: Record<string, string>, qemuVersion?: readonly [number, number]) => {
    const argv = build(entries, { host: { ...TCG, qemuVersion } }).argv;
    return { globals: values(argv, '-global'), nic: values(argv, '-device').find((d) => d.startsWith('virtio-net-pci')) };
  };
  const nic = { net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0' };
  t.deepEqual(run({}, [7, 2]).globals, []);
  t.deepEqual(run({ machine: 'pc-i440fx-9.2' }).globals, []);
  t.deepEqual(run({ machine: 'pc-i440fx-9.2+pve1' }).globals, ['PIIX4_PM.disable_s3=1', 'PIIX4_PM.disable_s4=1']);
  t.deepEqual(run({ machine: 'pc-i440fx-7.2,enable-s4=0' }).globals, ['PIIX4_PM.disable_s4=1']);
  t.is(run(nic, [7, 0]).nic, 'virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0,id=net0,bootindex=300,bus=pci.0,addr=0x12');
  t.is(run(nic, [7, 2]).nic, 'virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0,id=net0,rx_queue_size=1024,tx_queue_size=256,bootindex=300,bus=pci.0,addr=0x12');
  t.is(run(nic, [10, 0]).nic, 'virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0,id=net0,rx_queue_size=1024,tx_queue_size=256,host_mtu=1500,bootindex=300,bus=pci.0,addr=0x12');
  t.is(run({ ...nic, machine: 'pc-i440fx-11.0' }, [7, 2]).nic, 'virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0,id=net0,rx_queue_size=1024,tx_queue_size=256,host_mtu=1500,bootindex=300,bus=pci.0,addr=0x12');
  t.is(run({ ...nic, machine: 'pc-i440fx-11.0+pve1' }, [7, 2]).nic, 'virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0,id=net0,rx_queue_size=1024,tx_queue_size=256,host_mtu=1500,host_tunnel=off,bootindex=300,bus=pci.0,addr=0x12');
});
