import test from 'ava';
import { parseMonhost, rbdQemuAccess, type RbdConnection } from '../src/index.js';

const conn: RbdConnection = { confPath: '/run/corral/storage/ceph/ceph.conf', keyringPath: '/run/corral/storage/ceph/keyring', userId: 'corral', monHost: '10.0.0.1,[fd00::1]:3300', connectTimeoutSeconds: 10 };

test('QEMU access with monitors and a keyring: blockdev (QEMU 7.2 BlockdevOptionsRbd) and rbd: filename', (t) => {
  const a = rbdQemuAccess({ connection: conn, location: { pool: 'rbd' }, image: 'vm-100-disk-0', monitors: parseMonhost('10.0.0.1 [fd00::1]:3300') });
  t.deepEqual(a, {
    kind: 'qemu',
    format: 'raw',
    blockdev: {
      driver: 'rbd',
      pool: 'rbd',
      image: 'vm-100-disk-0',
      conf: conn.confPath,
      user: 'corral',
      server: [
        { host: '10.0.0.1', port: '3300' },
        { host: 'fd00::1', port: '3300' },
      ],
    },
    url: 'rbd:rbd/vm-100-disk-0:conf=/run/corral/storage/ceph/ceph.conf:mon_host=10.0.0.1;[fd00\\:\\:1]\\:3300:id=corral:keyring=/run/corral/storage/ceph/keyring',
  });
});

test('QEMU access through a conf, in a namespace, of a snapshot, with authsupported', (t) => {
  const a = rbdQemuAccess({
    connection: { confPath: '/etc/ceph/ceph.conf', userId: 'admin', authSupported: 'cephx', connectTimeoutSeconds: 10 },
    location: { pool: 'ssd', namespace: 'tenant1' },
    image: 'vm-7-disk-1',
    snapshot: 'before-upgrade',
    monitors: [],
  });
  t.deepEqual(a.blockdev, {
    driver: 'rbd',
    pool: 'ssd',
    namespace: 'tenant1',
    image: 'vm-7-disk-1',
    snapshot: 'before-upgrade',
    conf: '/etc/ceph/ceph.conf',
    user: 'admin',
    'auth-client-required': ['cephx'],
  });
  t.is(a.url, 'rbd:ssd/tenant1/vm-7-disk-1@before-upgrade:conf=/etc/ceph/ceph.conf:auth_supported=cephx:id=admin');
});

test('monhost lists as Proxmox writes them', (t) => {
  t.deepEqual(parseMonhost('10.0.0.1,10.0.0.2:6789; mon3'), [{ host: '10.0.0.1', port: undefined }, { host: '10.0.0.2', port: '6789' }, { host: 'mon3', port: undefined }]);
  t.deepEqual(parseMonhost('[::1]:3300 fd00::2'), [{ host: '::1', port: '3300' }, { host: 'fd00::2', port: undefined }]);
  t.throws(() => parseMonhost('10.0.0.1:99999'), { code: 'CORRAL_ERR_INVALID_CONFIG' });
});
