/**
 * The storages of qemu-server's cfg2cmd test environment (`run_config2command_tests.pl`),
 * resolved the way Corral's storage drivers resolve volumes for QEMU: what a volume id of the
 * corpus is to the command line builder.
 */
import type { VolumeAccess, VolumeFormat } from '@corral/core';

const RBD_SERVERS = ['127.0.0.42', '127.0.0.21', '::1'].map((host) => ({ host, port: '3300' }));
const KRBD_FSID = 'fc4181a6-56eb-4f68-b452-8ba1f381ca2a';
/** Directory storages by id: their path. */
const DIRS: Readonly<Record<string, string>> = { local: '/var/lib/vz', localsnapext: '/var/lib/vzsnapext', 'cifs-store': '/mnt/pve/cifs-store' };

function formatOf(name: string): VolumeFormat {
  const ext = name.slice(name.lastIndexOf('.') + 1);
  return (['raw', 'qcow2', 'vmdk', 'iso'] as const).find((f) => f === ext) ?? 'raw';
}

/**
 * `storeid:volname` as the test environment's storage would resolve it.
 * @throws Error for a storage the environment does not have, or one without `images` content (`noimages`).
 */
export function resolvePveTestVolume(volid: string): VolumeAccess {
  const colon = volid.indexOf(':');
  const store = volid.slice(0, colon);
  const name = volid.slice(colon + 1);
  const image = name.split('/').pop()!;
  if (store in DIRS) {
    const base = DIRS[store]!;
    // io_uring misbehaves on CIFS (qemu-server never uses it there).
    const qemuHints = store === 'cifs-store' ? { qemuHints: { ioUring: 'never' as const } } : {};
    if (name.startsWith('iso/')) return { kind: 'file', path: `${base}/template/iso/${name.slice(4)}`, format: 'iso', ...qemuHints };
    return { kind: 'file', path: `${base}/images/${name}`, format: formatOf(name), ...qemuHints };
  }
  switch (store) {
    case 'btrfs-store': {
      const dot = name.lastIndexOf('.');
      return { kind: 'file', path: `/butter/bread/images/${name.slice(0, dot)}/disk${name.slice(dot)}`, format: formatOf(name), qemuHints: { defaultCache: 'writeback' } };
    }
    case 'lvm-store':
      return { kind: 'block', path: `/dev/veegee/${image}`, format: 'raw', qemuHints: { ioUring: 'never' } };
    case 'local-lvm':
      return { kind: 'block', path: `/dev/pve/${image}`, format: 'raw' };
    case 'krbd-store':
      return { kind: 'block', path: `/dev/rbd-pve/${KRBD_FSID}/cpool/${image}`, format: 'raw', qemuHints: { ioUring: 'with-direct-io' } };
    case 'rbd-store':
      return {
        kind: 'qemu',
        blockdev: { driver: 'rbd', pool: 'cpool', image, server: RBD_SERVERS, 'auth-client-required': ['none'] },
        url: `rbd:cpool/${image}`,
        format: 'raw',
      };
    case 'zfs-over-iscsi-store':
      return {
        kind: 'qemu',
        blockdev: { driver: 'iscsi', transport: 'tcp', portal: '127.0.0.1', target: 'iqn.2019-10.org.test:foobar', lun: 0 },
        url: 'iscsi://127.0.0.1/iqn.2019-10.org.test:foobar/0',
        format: 'raw',
      };
    default:
      throw new Error(`storage '${store}' does not hold images`);
  }
}
