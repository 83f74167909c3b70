import test from 'ava';
import { qemuPrivilegedUses } from '../src/config/qemuPrivilegedUses.js';
import { checkDriverOwnedArgs } from '../src/config/driverOwnedArgs.js';
import { splitArgs } from '../src/config/splitArgs.js';

/** {description, key, value, privileged}: which VM config values reach host root (qemu-server's root-only rules). */
const rows: Array<{ description: string; key: string; value: string; privileged: boolean }> = [
  { description: 'raw args', key: 'args', value: '-no-reboot', privileged: true },
  { description: 'a hook script', key: 'hookscript', value: 'local:snippets/h.sh', privileged: true },
  { description: 'CPU affinity', key: 'affinity', value: '0-3', privileged: true },
  { description: 'ivshmem', key: 'ivshmem', value: 'size=32', privileged: true },
  { description: 'a storage volume disk', key: 'scsi0', value: 'local:100/vm-100-disk-0.qcow2,size=8G', privileged: false },
  { description: 'a new volume request', key: 'virtio0', value: 'local:8', privileged: false },
  { description: 'a host file disk', key: 'scsi1', value: '/etc/shadow', privileged: true },
  { description: 'a host file disk with options', key: 'sata2', value: 'file=/dev/vda,cache=none', privileged: true },
  { description: 'a host block device through the volume alias', key: 'ide0', value: 'volume=/dev/sdb', privileged: true },
  { description: 'the host CD-ROM drive', key: 'ide2', value: 'cdrom,media=cdrom', privileged: true },
  { description: 'the legacy cdrom key on the host drive', key: 'cdrom', value: 'cdrom', privileged: true },
  { description: 'an empty CD-ROM', key: 'ide2', value: 'none,media=cdrom', privileged: false },
  { description: 'an ISO volume', key: 'ide2', value: 'local:iso/debian.iso,media=cdrom', privileged: false },
  { description: 'an EFI disk on a host path', key: 'efidisk0', value: '/tmp/efivars.fd', privileged: true },
  { description: 'a TPM state on storage', key: 'tpmstate0', value: 'local:1,version=v2.0', privileged: false },
  { description: 'an unreadable drive value', key: 'scsi3', value: 'a=1,a=2', privileged: true },
  { description: 'a serial socket', key: 'serial0', value: 'socket', privileged: false },
  { description: 'a host serial device', key: 'serial1', value: '/dev/ttyS0', privileged: true },
  { description: 'a parallel port', key: 'parallel0', value: '/dev/parport0', privileged: true },
  { description: 'PCI passthrough', key: 'hostpci0', value: '0000:01:00.0,pcie=1', privileged: true },
  { description: 'a host USB device', key: 'usb0', value: 'host=1d6b:0002', privileged: true },
  { description: 'SPICE USB redirection', key: 'usb1', value: 'host=spice,usb3=1', privileged: false },
  { description: 'a shared host directory', key: 'virtiofs0', value: 'dirid=share', privileged: true },
  { description: 'memory', key: 'memory', value: '512', privileged: false },
  { description: 'a NIC', key: 'net0', value: 'virtio,bridge=vmbr0', privileged: false },
];

for (const row of rows) {
  test(`${row.description}: ${row.key}: ${row.value} is ${row.privileged ? '' : 'not '}root-equivalent`, (t) => {
    const uses = qemuPrivilegedUses({ [row.key]: row.value }, [row.key]);
    t.is(uses.length, row.privileged ? 1 : 0);
    if (row.privileged) {
      t.is(uses[0]!.key, row.key);
      t.true(uses[0]!.reason.length > 0);
    }
  });
}

test('only the asked keys are judged, and absent keys are skipped', (t) => {
  const entries = { args: '-no-reboot', scsi1: '/etc/shadow', memory: '64' };
  t.deepEqual(qemuPrivilegedUses(entries, ['memory', 'scsi1', 'nonexistent']).map((u) => u.key), ['scsi1']);
  t.deepEqual(qemuPrivilegedUses(entries, []), []);
});

test('args: driver-owned options are refused in both spellings; values and other options pass', (t) => {
  for (const args of ['-qmp unix:/x', '--qmp unix:/x', '--pidfile /p', '-S', '--daemonize', '-D /l', '--readconfig /c', '-name x', '-run-with chroot=/', '-accel tcg']) {
    const err = t.throws(() => checkDriverOwnedArgs(splitArgs(args), args), { code: 'CORRAL_ERR_INVALID_CONFIG' });
    t.regex(err!.message, /is set by the driver/, args);
  }
  for (const args of ['-serial mon:stdio', '-parallel mon:tcp:127.0.0.1:1', '-machine q35,accel=kvm', '-M pc,accel=tcg']) {
    const err = t.throws(() => checkDriverOwnedArgs(splitArgs(args), args), { code: 'CORRAL_ERR_INVALID_CONFIG' });
    t.regex(err!.message, /which the driver owns/, args);
  }
  for (const args of ['-no-reboot', '-global kvm-pit.lost_tick_policy=discard', '-device virtio-rng-pci', '-qmp=x', '-serial pty', '-machine pc,hpet=off']) {
    t.notThrows(() => checkDriverOwnedArgs(splitArgs(args), args), args);
  }
});
