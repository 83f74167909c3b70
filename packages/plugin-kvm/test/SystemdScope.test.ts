/**
 * The systemd path of resource control over a real private D-Bus daemon, with a fake
 * `org.freedesktop.systemd1` (systemd cannot run on these hosts; see FakeSystemd.ts): what the
 * driver asks systemd for, and what happens without a bus.
 */
import test from 'ava';
import { MemoryLogger, ROOT_CALLER } from '@corral/core';
import { createTestKernel, hasProgram, realTest } from '@corral/core/testing';
import { storageDirPlugin } from '@corral/plugin-storage-dir';
import { SystemdScope } from '../src/resources/SystemdScope.js';
import { testGuestUnavailableReason } from './support/testGuestImage.js';
import { propertiesOf, startFakeSystemd } from './support-kvm/FakeSystemd.js';
import { createKvmPlugin } from '../src/plugin.js';

const dbusTest = realTest(test, hasProgram('dbus-daemon'), 'dbus-daemon is not installed (package dbus)');
const guestReason = testGuestUnavailableReason() ?? (hasProgram('dbus-daemon') ? undefined : 'dbus-daemon is not installed (package dbus)');
const qemuDbusTest = realTest(test, guestReason === undefined, guestReason ?? '');

dbusTest('place: StartTransientUnit <vmid>.scope in qemu.slice with the PID, KillMode=none and the limits; waits for JobRemoved', async (t) => {
  const fake = await startFakeSystemd(t);
  const scope = new SystemdScope({ busAddress: fake.address, cgroupVersion: 1 });
  const log = new MemoryLogger();
  const placement = await scope.place({ vmid: 100, pid: 4242, limits: { cpuLimit: 1.5, cpuUnits: 512, memoryBytes: 768 * 1024 * 1024 }, log });
  t.deepEqual(placement, { kind: 'systemd', unit: '100.scope' });
  const start = fake.calls.find((c) => c.method === 'StartTransientUnit')!;
  t.is(start.args[0], '100.scope');
  t.is(start.args[1], 'fail');
  t.deepEqual(propertiesOf(start.args[2]), {
    Description: 'Corral VM 100',
    Slice: 'qemu.slice',
    PIDs: [4242],
    KillMode: 'none',
    CPUQuotaPerSecUSec: '1500000',
    CPUShares: '512',
    MemoryMax: String(768 * 1024 * 1024),
  });
  t.deepEqual(start.args[3], []);
  t.is(fake.calls[0]!.method, 'Subscribe');

  // live limits: SetUnitProperties (runtime); no limits = systemd's infinity
  await scope.update(placement, { cpuUnits: 2048 });
  const set = fake.calls.find((c) => c.method === 'SetUnitProperties')!;
  t.is(set.args[0], '100.scope');
  t.is(set.args[1], true);
  t.deepEqual(propertiesOf(set.args[2]), { CPUQuotaPerSecUSec: '18446744073709551615', CPUShares: '2048', MemoryMax: '18446744073709551615' });

  await scope.release(placement);
  t.deepEqual(fake.calls.at(-1), { method: 'StopUnit', args: ['100.scope', 'replace'] });
});

dbusTest('cgroup v2 hosts get CPUWeight scaled from cpuunits', async (t) => {
  const fake = await startFakeSystemd(t);
  const scope = new SystemdScope({ busAddress: fake.address, cgroupVersion: 2, slice: 'corral.slice' });
  await scope.place({ vmid: 7, pid: 1234, limits: { cpuUnits: 2048 }, log: new MemoryLogger() });
  const props = propertiesOf(fake.calls.find((c) => c.method === 'StartTransientUnit')!.args[2]);
  t.is(props.CPUWeight, '200');
  t.is(props.Slice, 'corral.slice');
  t.false('CPUShares' in props);
});

dbusTest('a scope left from an earlier run (UnitExists) is stopped, then started again', async (t) => {
  const fake = await startFakeSystemd(t);
  const scope = new SystemdScope({ busAddress: fake.address, cgroupVersion: 1 });
  fake.failNextStart('org.freedesktop.systemd1.UnitExists');
  const log = new MemoryLogger();
  await scope.place({ vmid: 101, pid: 99, limits: {}, log });
  t.deepEqual(
    fake.calls.filter((c) => c.method !== 'Subscribe').map((c) => `${c.method} ${String(c.args[0])}`),
    ['StartTransientUnit 101.scope', 'StopUnit 101.scope', 'StartTransientUnit 101.scope'],
  );
  t.true(log.lines.some((l) => l.level === 'warn' && /exists from an earlier run/.test(l.message)));
});

test('without a bus: UnavailableError, and the process does not crash', async (t) => {
  const scope = new SystemdScope({ busAddress: 'unix:path=/nonexistent/corral-no-bus' });
  const err = await t.throwsAsync(scope.place({ vmid: 1, pid: 1, limits: {}, log: new MemoryLogger() }));
  t.regex(String((err as { code?: string }).code), /CORRAL_ERR_UNAVAILABLE/);
  await new Promise((r) => setTimeout(r, 100));
  t.pass();
});

qemuDbusTest('the driver places a real QEMU through the systemd scope (fake systemd records the QEMU pid)', async (t) => {
  const fake = await startFakeSystemd(t);
  const plugins = [storageDirPlugin, createKvmPlugin({ resourceControl: new SystemdScope({ busAddress: fake.address, cgroupVersion: 1 }) })];
  const kernel = await createTestKernel(t, { plugins });
  t.teardown(async () => {
    if ((await kernel.guests.status(160).catch(() => ({ state: 'stopped' }))).state !== 'stopped') await kernel.guests.stop(160);
  });
  // no disk, no kernel to boot: SeaBIOS idles, which is all this test needs
  await kernel.guests.create('qemu', { memory: 64, vga: 'none', tablet: 0, cpulimit: 0.25, cpuunits: 100 }, { caller: ROOT_CALLER, vmid: 160 });
  await kernel.guests.start(160);
  const { pid } = await kernel.guests.status(160);
  const start = fake.calls.find((c) => c.method === 'StartTransientUnit')!;
  t.is(start.args[0], '160.scope');
  const props = propertiesOf(start.args[2]);
  t.deepEqual(props.PIDs, [pid]);
  t.is(props.CPUQuotaPerSecUSec, '250000');
  t.is(props.CPUShares, '100');
  t.is(props.MemoryMax, String((64 + 512) * 1024 * 1024));
  await kernel.guests.stop(160);
  t.deepEqual(fake.calls.at(-1), { method: 'StopUnit', args: ['160.scope', 'replace'] });
});
