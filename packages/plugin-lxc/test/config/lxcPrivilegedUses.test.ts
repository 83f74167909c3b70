import test from 'ava';
import { lxcPrivilegedUses } from '../../src/config/lxcPrivilegedUses.js';

/** {description, entries, key, privileged}: which container config values reach host root (pve-container's root-only rules). */
const rows: Array<{ description: string; entries: Record<string, string>; key: string; privileged: boolean }> = [
  { description: 'a raw lxc hook', entries: { unprivileged: '1', 'lxc.hook.pre-start': '/bin/true' }, key: 'lxc.hook.pre-start', privileged: true },
  { description: 'a raw lxc signal key', entries: { unprivileged: '1', 'lxc.signal.halt': 'SIGUSR1' }, key: 'lxc.signal.halt', privileged: true },
  { description: 'a storage rootfs', entries: { unprivileged: '1', rootfs: 'local:200/vm-200-disk-0.raw,size=8G' }, key: 'rootfs', privileged: false },
  { description: 'a new rootfs volume', entries: { unprivileged: '1', rootfs: 'local:8' }, key: 'rootfs', privileged: false },
  { description: 'a host directory as rootfs', entries: { unprivileged: '1', rootfs: '/srv/ct' }, key: 'rootfs', privileged: true },
  { description: 'a bind mount', entries: { unprivileged: '1', mp0: '/,mp=/host' }, key: 'mp0', privileged: true },
  { description: 'a device mount', entries: { unprivileged: '1', mp1: 'volume=/dev/sdb1,mp=/mnt' }, key: 'mp1', privileged: true },
  { description: 'a storage mount point', entries: { unprivileged: '1', mp2: 'local:1,mp=/data' }, key: 'mp2', privileged: false },
  { description: 'device passthrough', entries: { unprivileged: '1', dev0: '/dev/ttyUSB0' }, key: 'dev0', privileged: true },
  { description: 'a hook script', entries: { unprivileged: '1', hookscript: 'local:snippets/h.sh' }, key: 'hookscript', privileged: true },
  { description: 'nesting on an unprivileged container', entries: { unprivileged: '1', features: 'nesting=1' }, key: 'features', privileged: false },
  { description: 'fuse on an unprivileged container', entries: { unprivileged: '1', features: 'nesting=1,fuse=1' }, key: 'features', privileged: true },
  { description: 'nesting on a privileged container', entries: { unprivileged: '0', features: 'nesting=1' }, key: 'features', privileged: true },
  { description: 'a privileged container', entries: { unprivileged: '0' }, key: 'unprivileged', privileged: true },
  { description: 'changing unprivileged after create, even to 1', entries: { unprivileged: '1' }, key: 'unprivileged', privileged: true },
  { description: 'a template volume', entries: { unprivileged: '1', ostemplate: 'local:vztmpl/debian.tar.zst' }, key: 'ostemplate', privileged: false },
  { description: 'a template on a host path', entries: { unprivileged: '1', ostemplate: '/root/t.tar.gz' }, key: 'ostemplate', privileged: true },
  { description: 'memory', entries: { unprivileged: '1', memory: '512' }, key: 'memory', privileged: false },
];

for (const row of rows) {
  test(`${row.description}: ${row.key} is ${row.privileged ? '' : 'not '}root-equivalent`, (t) => {
    const uses = lxcPrivilegedUses(row.entries, [row.key]);
    t.deepEqual(uses.map((u) => u.key), row.privileged ? [row.key] : []);
  });
}

test('at create, a container without unprivileged: 1 is a privileged use of unprivileged; with it, nothing', (t) => {
  t.deepEqual(lxcPrivilegedUses({ rootfs: 'local:8' }, ['rootfs'], { create: true }).map((u) => u.key), ['unprivileged']);
  t.deepEqual(lxcPrivilegedUses({ rootfs: 'local:8', unprivileged: '1' }, ['rootfs', 'unprivileged'], { create: true }), []);
  t.deepEqual(lxcPrivilegedUses({ rootfs: 'local:8', unprivileged: '0' }, ['rootfs', 'unprivileged'], { create: true }).map((u) => u.key), ['unprivileged']);
  // Outside create, an existing privileged container's harmless keys stay unprivileged.
  t.deepEqual(lxcPrivilegedUses({ rootfs: 'local:8', memory: '256' }, ['memory']), []);
});
