/**
 * Who picks the accelerator: the precedence table of `CORRAL_QEMU_ACCEL` over the plugin
 * option over `auto`, coded errors for bad values, forced modes that run no probe, and the
 * command-line builder choosing TCG (with the probe's reason) when the probe says no.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CommandFailedError, CommandTimeoutError, InvalidArgumentError, type RunOptions, type RunResult } from '@corral/core';
import { makeTempDir, RecordingCommandRunner } from '@corral/core/testing';
import { buildQemuCommandLine } from '../src/cmdline/QemuCommandLine.js';
import { parseQemuConfig } from '../src/config/parseQemuConfig.js';
import { createKvmPlugin } from '../src/plugin.js';
import { QemuHypervisorDriver } from '../src/QemuHypervisorDriver.js';
import { ACCELERATOR_ENV, acceleratorMode, type AcceleratorMode } from '../src/runtime/acceleratorMode.js';
import { acceleratorStatus } from '../src/runtime/acceleratorStatus.js';
import { KVM_PROBE_CACHE_FILE, KVM_PROBE_TIMEOUT_TTL_MS, KvmProbe } from '../src/runtime/KvmProbe.js';
import { KVM_PROBE_OK_EXIT_STATUS } from '../src/runtime/kvmProbePayload.js';
import { probeHostFeatures } from '../src/runtime/probeHostFeatures.js';
import { qemuRunPaths } from '../src/runtime/QemuRunPaths.js';

const precedence: Array<{ env: string | undefined; option: AcceleratorMode | undefined; mode: AcceleratorMode; source: string }> = [
  { env: undefined, option: undefined, mode: 'auto', source: 'default' },
  { env: '', option: undefined, mode: 'auto', source: 'default' },
  { env: undefined, option: 'kvm', mode: 'kvm', source: "plugin option accelerator: 'kvm'" },
  { env: undefined, option: 'tcg', mode: 'tcg', source: "plugin option accelerator: 'tcg'" },
  { env: '', option: 'tcg', mode: 'tcg', source: "plugin option accelerator: 'tcg'" },
  { env: 'tcg', option: undefined, mode: 'tcg', source: 'CORRAL_QEMU_ACCEL=tcg' },
  { env: 'tcg', option: 'kvm', mode: 'tcg', source: 'CORRAL_QEMU_ACCEL=tcg' },
  { env: 'kvm', option: 'tcg', mode: 'kvm', source: 'CORRAL_QEMU_ACCEL=kvm' },
  { env: 'auto', option: 'tcg', mode: 'auto', source: 'CORRAL_QEMU_ACCEL=auto' },
];

for (const row of precedence) {
  test(`precedence: env ${JSON.stringify(row.env)}, option ${JSON.stringify(row.option)} → ${row.mode}`, (t) => {
    t.deepEqual(acceleratorMode(row.option, { [ACCELERATOR_ENV]: row.env }), { mode: row.mode, source: row.source });
  });
}

test('a bad CORRAL_QEMU_ACCEL or accelerator option is a coded InvalidArgumentError naming it', (t) => {
  for (const bad of ['KVM', 'hvf', 'tcg ', 'auto,kvm']) {
    const err = t.throws(() => acceleratorMode('auto', { [ACCELERATOR_ENV]: bad }), { instanceOf: InvalidArgumentError });
    t.is(err.code, 'CORRAL_ERR_INVALID_ARGUMENT');
    t.is(err.argument, 'CORRAL_QEMU_ACCEL');
    t.regex(err.message, /CORRAL_QEMU_ACCEL must be one of 'auto', 'kvm', 'tcg', got "/);
  }
  for (const make of [() => createKvmPlugin({ accelerator: 'fast' as AcceleratorMode }), () => new QemuHypervisorDriver({ accelerator: 'on' as AcceleratorMode })]) {
    const err = t.throws(make, { instanceOf: InvalidArgumentError });
    t.is(err.argument, 'accelerator');
  }
});

/** A probe on a host whose /dev/kvm opens (a temp file), with a QEMU binary that never runs (the runner answers). */
async function probeOnFakeHost(t: ExecutionContext) {
  const dir = await makeTempDir(t, 'corral-accel-');
  const binary = join(dir, 'qemu-system-x86_64');
  await writeFile(join(dir, 'kvm'), '');
  await writeFile(binary, '', { mode: 0o755 });
  await writeFile(join(dir, 'boot_id'), 'boot\n');
  return new KvmProbe({ device: join(dir, 'kvm'), binary, bootIdFile: join(dir, 'boot_id'), cacheDir: join(dir, 'run') });
}

/** The runner's calls other than the QEMU version query (asked once per process by probeHostFeatures). */
function kvmProbeRuns(runner: RecordingCommandRunner): RecordingCommandRunner['calls'] {
  return runner.calls.filter((c) => !c.argv.includes('--version'));
}

test('forced kvm and forced tcg run no probe; auto does', async (t) => {
  const probe = await probeOnFakeHost(t);
  const runner = new RecordingCommandRunner([{ match: (a) => a.includes('-bios'), exitCode: KVM_PROBE_OK_EXIT_STATUS }]);
  const forcedKvm = await probeHostFeatures(runner, { kvmProbe: probe, accelerator: { mode: 'kvm', source: 'CORRAL_QEMU_ACCEL=kvm' } });
  t.like(forcedKvm, { kvm: true, accelForced: true, kvmReason: 'KVM forced by CORRAL_QEMU_ACCEL=kvm (not probed)' });
  const forcedTcg = await probeHostFeatures(runner, { kvmProbe: probe, accelerator: { mode: 'tcg', source: "plugin option accelerator: 'tcg'" } });
  t.like(forcedTcg, { kvm: false, accelForced: true, kvmReason: "TCG forced by plugin option accelerator: 'tcg'" });
  const notWanted = await probeHostFeatures(runner, { kvmProbe: probe, probeKvm: false });
  t.false(notWanted.kvm);
  t.is(kvmProbeRuns(runner).length, 0, 'no QEMU ran');
  const auto = await probeHostFeatures(runner, { kvmProbe: probe });
  t.true(auto.kvm);
  t.regex(auto.kvmReason!, /^KVM probe passed \(ran in \d+ ms\)$/);
  t.is(kvmProbeRuns(runner).length, 1);
});

/** Replays QEMU 7.2.22's abort under `-accel kvm -cpu host` on a nested kvm-pvm host. */
class MsrAbortRunner extends RecordingCommandRunner {
  override async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (argv[argv.indexOf('-cpu') + 1] === 'host') {
      this.calls.push({ argv: [...argv], options });
      throw new CommandFailedError(argv, null, 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n', 'SIGABRT');
    }
    return super.run(argv, options);
  }
}

test('the command-line builder picks TCG, with the probe reason, when the probe says no', async (t) => {
  const probe = await probeOnFakeHost(t);
  // Recorded: QEMU 7.2.22 `-accel kvm` run as a user who cannot open /dev/kvm (exit status 1).
  const stderr = 'Could not access KVM kernel module: Permission denied\nqemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied\n';
  const runner = new MsrAbortRunner([{ match: (a) => a.includes('-bios'), exitCode: 1, stderr }]);
  const host = await probeHostFeatures(runner, { kvmProbe: probe });
  t.false(host.kvm);
  const cmd = buildQemuCommandLine({ config: parseQemuConfig({}, { vmid: 100 }), paths: qemuRunPaths('/run/corral/qemu/100'), host, volumes: new Map() });
  t.is(cmd.accel, 'tcg');
  t.is(cmd.argv[cmd.argv.indexOf('-accel') + 1], 'tcg');
  t.regex(
    cmd.accelReason,
    /^KVM probe failed \(provisional, probed again after [\dT:.Z-]+\): QEMU -accel kvm -cpu kvm64 exited with code 1: Could not access KVM kernel module: Permission denied \/ qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied$/,
  );
  t.true(cmd.warnings.some((w) => /^KVM probe failed \(provisional, .*; running under TCG/.test(w)), cmd.warnings.join('; '));
  const again = await probeHostFeatures(runner, { kvmProbe: probe });
  // QEMU could not start (exit status 1): an answer that may pass, kept a minute in memory
  t.regex(again.kvmReason!, /^KVM probe failed \(provisional, probed again after \d{4}-\d\d-\d\dT[\d:.]+Z\): QEMU -accel kvm -cpu kvm64 exited with code 1/);
  t.is(kvmProbeRuns(runner).length, 1);
});

test("cpu host: probed on its own when KVM works; when it aborts the guest keeps KVM with x86-64-v2-AES", async (t) => {
  const probe = await probeOnFakeHost(t);
  const runner = new MsrAbortRunner([{ match: (a) => a.includes('-bios'), exitCode: KVM_PROBE_OK_EXIT_STATUS }]);
  const config = parseQemuConfig({ cpu: 'host' }, { vmid: 100 });
  const host = await probeHostFeatures(runner, { kvmProbe: probe, cpuModel: config.cpu.type });
  t.true(host.kvm);
  t.regex(host.kvmCpuUnusable?.host ?? '', /killed by SIGABRT: .*failed to set MSR 0x10a/);
  t.deepEqual(kvmProbeRuns(runner).map((c) => c.argv[c.argv.indexOf('-cpu') + 1]), ['kvm64', 'host']);
  const cmd = buildQemuCommandLine({ config, paths: qemuRunPaths('/run/corral/qemu/100'), host, volumes: new Map() });
  t.is(cmd.accel, 'kvm');
  t.is(cmd.argv[cmd.argv.indexOf('-cpu') + 1], 'qemu64,+aes,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+pni,+popcnt,+sse4.1,+sse4.2,+ssse3');
  t.true(cmd.warnings.some((w) => w.startsWith("cpu 'host' does not run under this host's KVM")));
  // a default-CPU guest does not probe host at all
  const plain = await probeHostFeatures(runner, { kvmProbe: probe, cpuModel: 'x86-64-v2-AES' });
  t.is(plain.kvmCpuUnusable, undefined);
  t.is(kvmProbeRuns(runner).length, 2, 'answers came from the cache');
});

/** Misses the probe's bound `timeouts` times (a loaded host), then passes. */
class LoadedHostRunner extends RecordingCommandRunner {
  constructor(private timeouts: number) {
    super([{ match: (a) => a.includes('-bios'), exitCode: KVM_PROBE_OK_EXIT_STATUS }]);
  }
  override async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (this.timeouts-- <= 0 || !argv.includes('-bios')) return super.run(argv, options);
    this.calls.push({ argv: [...argv], options });
    throw new CommandTimeoutError(argv, options.timeoutMs!, '');
  }
}

test('accelerator status: forced modes; a probe timeout is a provisional TCG (until validUntil, also in the start warning); forget and probe again gives KVM', async (t) => {
  const probe = await probeOnFakeHost(t);
  const runner = new LoadedHostRunner(1);
  t.deepEqual(await acceleratorStatus(runner, { kvmProbe: probe, mode: { mode: 'tcg', source: 'CORRAL_QEMU_ACCEL=tcg' } }), {
    accel: 'tcg',
    mode: { mode: 'tcg', source: 'CORRAL_QEMU_ACCEL=tcg' },
    chosenBy: 'forced',
    reason: 'TCG forced by CORRAL_QEMU_ACCEL=tcg',
    provisional: false,
  });
  t.like(await acceleratorStatus(runner, { kvmProbe: probe, mode: { mode: 'kvm', source: 'default' } }), { accel: 'kvm', chosenBy: 'forced', provisional: false });
  t.is(kvmProbeRuns(runner).length, 0, 'forced modes run no probe');

  const auto = { mode: 'auto', source: 'default' } as const;
  const loaded = await acceleratorStatus(runner, { kvmProbe: probe, mode: auto });
  t.like(loaded, { accel: 'tcg', chosenBy: 'probe', provisional: true });
  const until = Date.parse(loaded.validUntil!);
  const probedAt = Date.parse(loaded.probedAt!);
  t.true(until >= probedAt + KVM_PROBE_TIMEOUT_TTL_MS, `${loaded.validUntil} is KVM_PROBE_TIMEOUT_TTL_MS after ${loaded.probedAt}`);
  t.regex(loaded.reason, new RegExp(`^KVM probe failed \\(provisional, probed again after ${loaded.validUntil!.replace(/\./g, '\\.')}\\): the probe guest \\(-cpu kvm64\\) did not finish within`));
  t.like(await acceleratorStatus(runner, { kvmProbe: probe, mode: auto }), { accel: 'tcg', chosenBy: 'cache', provisional: true, validUntil: loaded.validUntil });
  const host = await probeHostFeatures(runner, { kvmProbe: probe });
  const cmd = buildQemuCommandLine({ config: parseQemuConfig({}, { vmid: 100 }), paths: qemuRunPaths('/run/corral/qemu/100'), host, volumes: new Map() });
  t.is(cmd.accel, 'tcg');
  t.true(cmd.warnings.some((w) => w.startsWith(`${loaded.reason}; running under TCG`)), cmd.warnings.join('; '));
  t.is(kvmProbeRuns(runner).length, 1);

  await probe.forget();
  const reprobed = await acceleratorStatus(runner, { kvmProbe: probe, mode: auto });
  t.like(reprobed, { accel: 'kvm', chosenBy: 'probe', provisional: false, validUntil: undefined });
  t.regex(reprobed.reason, /^KVM probe passed \(ran in \d+ ms\)$/);
  t.is(kvmProbeRuns(runner).length, 2);
});

test('the driver reports its accelerator status and reprobeAccelerator drops the cached answers', async (t) => {
  const runDir = await makeTempDir(t, 'corral-accel-driver-');
  const cacheFile = join(runDir, KVM_PROBE_CACHE_FILE);
  const forced = new QemuHypervisorDriver({ accelerator: 'tcg', runDir });
  const runner = new RecordingCommandRunner(); // any command fails the test: forced modes run none
  const before = process.env[ACCELERATOR_ENV];
  delete process.env[ACCELERATOR_ENV];
  try {
    t.like(await forced.acceleratorStatus(runner), { accel: 'tcg', chosenBy: 'forced', mode: { mode: 'tcg', source: "plugin option accelerator: 'tcg'" }, provisional: false });
    await writeFile(cacheFile, '{"bootId":"b","binary":{"path":"/q","size":1,"mtimeMs":1},"results":{}}\n');
    t.like(await forced.reprobeAccelerator(runner), { accel: 'tcg', chosenBy: 'forced' });
    t.false(existsSync(cacheFile), 'the cache file is gone');
    t.deepEqual(runner.argvs, []);
  } finally {
    if (before !== undefined) process.env[ACCELERATOR_ENV] = before;
  }
});
