/**
 * The KVM probe.
 *
 * - For real, on whatever machine this runs (no /dev/kvm, a /dev/kvm that opens but cannot run
 *   a guest, a working KVM): the probe's answer must agree with an independent measurement,
 *   a direct boot of a smaller payload under KVM compared with the same payload under TCG,
 *   and its run must be bounded. No answer is hard-coded.
 * - For real, with an accelerator that fails on any machine (a private mount namespace whose
 *   /dev/kvm is /dev/null's device, see `fakeKvmNamespace`): the probe says no, a direct KVM
 *   boot fails too, and the payload boots under the accelerator the command line then picks.
 * - With a recording runner: the per-boot cache (memory, file, boot id, binary identity), one
 *   run for concurrent checks, no QEMU without /dev/kvm, and the reasons for each recorded
 *   failure of QEMU.
 * - With real QEMU and a runner that does not kill at its timeout: the probe kills its QEMU
 *   by pid itself.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CommandFailedError, CommandTimeoutError, NodeCommandRunner, type RunOptions, type RunResult } from '@corral/core';
import { hasProgram, makeTempDir, realTest, RecordingCommandRunner } from '@corral/core/testing';
import { KVM_PROBE_CACHE_FILE, KVM_PROBE_TIMEOUT_MS, KVM_PROBE_TIMEOUT_TTL_MS, KvmProbe } from '../src/runtime/KvmProbe.js';
import { KVM_PROBE_ITERATIONS, KVM_PROBE_OK_EXIT_STATUS, KVM_PROBE_WRONG_EXIT_STATUS, kvmProbePayload } from '../src/runtime/kvmProbePayload.js';
import { isQemuOf } from '../src/runtime/QemuProcess.js';
import { buildQemuCommandLine } from '../src/cmdline/QemuCommandLine.js';
import { parseQemuConfig } from '../src/config/parseQemuConfig.js';
import { probeHostFeatures } from '../src/runtime/probeHostFeatures.js';
import { qemuRunPaths } from '../src/runtime/QemuRunPaths.js';
import { bootProbePayload } from './support-kvm/bootProbePayload.js';
import { fakeKvmNamespace } from './support-kvm/fakeKvmNamespace.js';

const qemuTest = realTest(test, hasProgram('qemu-system-x86_64'), 'qemu-system-x86_64 is not installed (package qemu-system-x86)');
const namespaceTest = realTest(
  test,
  hasProgram('qemu-system-x86_64') && hasProgram('unshare') && hasProgram('nsenter') && process.getuid?.() === 0,
  'needs root, qemu-system-x86_64 and util-linux unshare/nsenter',
);

async function kvmDeviceOpens(): Promise<boolean> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Independent verdict on KVM with CPU model `cpu`: a quarter of the probe's workload, booted
 * directly under TCG and then under KVM. KVM works when it runs the payload to its OK exit
 * and is not slower than five times TCG (at least 1 s allowed).
 */
async function directVerdict(t: ExecutionContext, cpu: string): Promise<{ works: boolean; detail: string }> {
  const image = kvmProbePayload(KVM_PROBE_ITERATIONS / 4);
  const tcg = await bootProbePayload(t, image, { accel: 'tcg', timeoutMs: 30_000, cpu: cpu === 'host' ? 'max' : cpu });
  t.is(tcg.exitCode, KVM_PROBE_OK_EXIT_STATUS, `the payload works under TCG: ${tcg.stderr}`);
  const bound = Math.max(5 * tcg.durationMs, 1_000);
  const kvm = await bootProbePayload(t, image, { accel: 'kvm', timeoutMs: bound, cpu });
  const works = !kvm.timedOut && kvm.exitCode === KVM_PROBE_OK_EXIT_STATUS;
  const detail = `TCG ${Math.round(tcg.durationMs)} ms; KVM -cpu ${cpu}: ${kvm.timedOut ? `no exit within ${Math.round(bound)} ms` : `exit ${kvm.exitCode} in ${Math.round(kvm.durationMs)} ms`}, stages '${kvm.stages}'`;
  return { works, detail };
}

qemuTest.serial('on this machine, the probe agrees with a direct boot of the payload under KVM, and its run is bounded', async (t) => {
  const dir = await makeTempDir(t, 'corral-kvm-probe-');
  const runner = new RecordingCommandRunner([], new NodeCommandRunner());
  const probe = new KvmProbe({ cacheDir: dir });
  const result = await probe.check(runner);
  t.log(`probe: ${result.usable ? 'usable' : `unusable: ${result.reason}`} (QEMU ran ${result.durationMs} ms)`);
  if (!(await kvmDeviceOpens())) {
    t.false(result.usable);
    t.is(result.source, 'device');
    t.deepEqual(runner.argvs, [], 'no QEMU runs without /dev/kvm');
    return;
  }
  t.is(runner.calls.length, 1, 'one QEMU run');
  t.is(result.source, 'probe');
  t.is(runner.calls[0]!.options.timeoutMs, KVM_PROBE_TIMEOUT_MS, 'the run is bounded (the runner kills QEMU at the bound)');
  const direct = await directVerdict(t, 'kvm64');
  t.log(`direct boot: ${direct.detail}`);
  t.is(result.usable, direct.works, `probe and direct boot agree (${direct.detail}; probe: ${result.reason ?? 'usable'})`);
});

qemuTest.serial("on this machine, the probe of -cpu host agrees with a direct boot with -cpu host", async (t) => {
  if (!(await kvmDeviceOpens())) {
    const result = await new KvmProbe().check(new RecordingCommandRunner(), { cpu: 'host' });
    t.is(result.source, 'device');
    return;
  }
  const result = await new KvmProbe({ cacheDir: await makeTempDir(t, 'corral-kvm-probe-') }).check(new NodeCommandRunner(), { cpu: 'host' });
  t.log(`probe -cpu host: ${result.usable ? 'usable' : `unusable: ${result.reason}`} (${result.durationMs} ms)`);
  const direct = await directVerdict(t, 'host');
  t.log(`direct boot: ${direct.detail}`);
  t.is(result.usable, direct.works, `probe and direct boot agree (${direct.detail})`);
});

namespaceTest.serial('an accelerator that fails (a fake /dev/kvm): the probe says no, a direct KVM boot fails too, and a boot with the accelerator the command line then picks works', async (t) => {
  const ns = await fakeKvmNamespace(t);
  const dir = await makeTempDir(t, 'corral-kvm-probe-');
  const runner = new RecordingCommandRunner([], ns.runner);
  const probe = new KvmProbe({ device: ns.device, cacheDir: dir });
  const result = await probe.check(runner);
  t.log(`probe: ${result.reason ?? 'usable'}`);
  t.like(result, { usable: false, source: 'probe', cpu: 'kvm64' });
  t.regex(result.reason!, /^QEMU -accel kvm -cpu kvm64 exited with code 1: .*failed to initialize kvm: Inappropriate ioctl for device/);
  t.is(runner.calls.filter((c) => c.argv.includes('-bios')).length, 1, 'the device opened, so QEMU ran');

  // The choice the driver makes from that answer.
  const host = await probeHostFeatures(runner, { kvmProbe: probe });
  t.false(host.kvm);
  const cmd = buildQemuCommandLine({ config: parseQemuConfig({}, { vmid: 100 }), paths: qemuRunPaths(join(dir, 'vm')), host, volumes: new Map() });
  t.is(cmd.accel, 'tcg');
  t.true(cmd.warnings.some((w) => w.startsWith(`${host.kvmReason}; running under TCG`)), cmd.warnings.join('; '));

  // Independently: the payload booted directly with -accel kvm fails in the same namespace, and
  // with the accelerator the command line picked it runs to its OK exit.
  const image = kvmProbePayload(KVM_PROBE_ITERATIONS / 4);
  const underKvm = await bootProbePayload(t, image, { accel: 'kvm', timeoutMs: 60_000, runner: ns.runner });
  t.like(underKvm, { timedOut: false, exitCode: 1 });
  t.regex(underKvm.stderr, /failed to initialize kvm/);
  const chosen = await bootProbePayload(t, image, { accel: cmd.accel, timeoutMs: 60_000, runner: ns.runner });
  t.is(chosen.exitCode, KVM_PROBE_OK_EXIT_STATUS, chosen.stderr);
  t.is(chosen.stages.at(-1), 'W', `the payload finished its workload (stages '${chosen.stages}')`);
});

/** A host as the probe sees it: a device that opens, a QEMU binary (never run: the runner answers), a boot id. */
async function fakeHost(t: ExecutionContext) {
  const dir = await makeTempDir(t, 'corral-kvm-probe-');
  const device = join(dir, 'kvm');
  const binary = join(dir, 'qemu-system-x86_64');
  const bootIdFile = join(dir, 'boot_id');
  const cacheDir = join(dir, 'run');
  await writeFile(device, '');
  await writeFile(binary, '#!/bin/false\n');
  await chmod(binary, 0o755);
  await writeFile(bootIdFile, 'boot-a\n');
  return { dir, device, binary, bootIdFile, cacheDir, options: { device, binary, bootIdFile, cacheDir } };
}

// Recorded from QEMU 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3) running the probe payload:
// under TCG it exits with status 67 (isa-debug-exit value 0x21) and prints nothing.
const PROBE_OK = { match: (argv: readonly string[]) => argv.includes('-bios'), exitCode: KVM_PROBE_OK_EXIT_STATUS };

test('the answer is cached per boot and QEMU binary: memory, then the cache file; a new boot id or binary probes again', async (t) => {
  const host = await fakeHost(t);
  const runner = new RecordingCommandRunner([PROBE_OK]);
  const first = await new KvmProbe(host.options).check(runner);
  t.like(first, { usable: true, source: 'probe', cpu: 'kvm64' });
  t.is(runner.calls.length, 1);
  const argv = runner.calls[0]!.argv;
  t.is(argv[0], host.binary);
  for (const [flag, value] of [['-accel', 'kvm'], ['-cpu', 'kvm64'], ['-machine', 'pc'], ['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']]) {
    t.is(argv[argv.indexOf(flag!) + 1], value, `${flag} ${value}`);
  }
  t.deepEqual(runner.calls[0]!.options.okExitCodes, [KVM_PROBE_OK_EXIT_STATUS]);
  t.is(runner.calls[0]!.options.timeoutMs, KVM_PROBE_TIMEOUT_MS, 'bounded by the runner timeout');

  const probe = new KvmProbe(host.options);
  t.like(await probe.check(runner), { usable: true, source: 'file' }, 'another probe (another process) reads the cache file');
  t.like(await probe.check(runner), { usable: true, source: 'memory' });
  t.is(runner.calls.length, 1, 'no second QEMU run');
  const file = JSON.parse(await readFile(join(host.cacheDir, KVM_PROBE_CACHE_FILE), 'utf8')) as { bootId: string; results: Record<string, unknown> };
  t.is(file.bootId, 'boot-a');
  t.deepEqual(Object.keys(file.results), ['kvm64']);

  await writeFile(host.bootIdFile, 'boot-b\n');
  t.like(await probe.check(runner), { usable: true, source: 'probe' }, 'a new boot probes again');
  t.is(runner.calls.length, 2);
  t.like(await new KvmProbe(host.options).check(runner), { source: 'file' });

  await utimes(host.binary, new Date(), new Date(Date.now() + 60_000));
  t.like(await probe.check(runner), { source: 'probe' }, 'a replaced QEMU binary probes again');
  t.is(runner.calls.length, 3);

  t.like(await probe.check(runner, { cpu: 'host' }), { source: 'probe', cpu: 'host' }, 'each CPU model has its own answer');
  t.is(runner.calls.length, 4);
  t.like(await new KvmProbe(host.options).check(runner, { cpu: 'host' }), { source: 'file' });
  t.like(await new KvmProbe(host.options).check(runner), { source: 'file' }, 'both models are in the file');
});

test('concurrent checks share one QEMU run', async (t) => {
  const host = await fakeHost(t);
  class SlowRunner extends RecordingCommandRunner {
    override async run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
      await new Promise((r) => setTimeout(r, 200));
      return super.run(argv, options);
    }
  }
  const runner = new SlowRunner([PROBE_OK]);
  const probe = new KvmProbe(host.options);
  const results = await Promise.all(Array.from({ length: 8 }, () => probe.check(runner)));
  t.is(runner.calls.length, 1);
  t.true(results.every((r) => r.usable));
  t.is(results.filter((r) => r.source === 'probe').length, 1);
});

test('without /dev/kvm (or without QEMU) no QEMU runs and nothing is cached', async (t) => {
  const host = await fakeHost(t);
  const runner = new RecordingCommandRunner(); // any command fails the test
  const missing = await new KvmProbe({ ...host.options, device: join(host.dir, 'no-kvm') }).check(runner);
  t.like(missing, { usable: false, source: 'device', durationMs: 0 });
  t.regex(missing.reason!, /no-kvm does not exist \(no KVM on this host\)/);
  const noQemu = await new KvmProbe({ ...host.options, binary: join(host.dir, 'no-qemu') }).check(runner);
  t.like(noQemu, { usable: false, source: 'device' });
  t.regex(noQemu.reason!, /no-qemu' was not found/);
  t.deepEqual(runner.argvs, []);
  await t.throwsAsync(readFile(join(host.cacheDir, KVM_PROBE_CACHE_FILE)), { code: 'ENOENT' });
});

/** A runner that replays one recorded failure of the probe's QEMU. */
class FailingRunner extends RecordingCommandRunner {
  constructor(private readonly fail: (argv: readonly string[], options: RunOptions) => Promise<never>) {
    super();
  }
  override async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv: [...argv], options });
    return this.fail(argv, options);
  }
}

const debugconFile = (argv: readonly string[]): string => argv[argv.indexOf('-debugcon') + 1]!.replace(/^file:/, '');

const failures: Array<{ description: string; fail: (argv: readonly string[], o: RunOptions) => Promise<never>; reason: RegExp; notReason?: RegExp; provisional: boolean }> = [
  {
    // Measured on this kind of host (nested kvm-pvm): the payload prints R, P, L and then
    // runs at about 2 million instructions a second; the runner kills it at the timeout.
    description: 'no exit within the bound: the reason names the bound and the last stage reached',
    fail: async (argv, o) => {
      await writeFile(debugconFile(argv), 'RPL');
      throw new CommandTimeoutError(argv, o.timeoutMs!, 'qemu-system-x86_64: warning: host doesn\'t support requested feature: CPUID.01H:ECX.pni [bit 0]\n');
    },
    reason: /^the probe guest \(-cpu kvm64\) did not finish within 3000 ms \(it reached 64-bit long mode; TCG runs it in about 0\.15 s\)/,
    provisional: true,
  },
  {
    // Recorded: QEMU 7.2.22, `-accel kvm -cpu host` on a nested kvm-pvm host (SIGABRT).
    description: 'QEMU aborts on an MSR: the reason quotes the error, not the warnings',
    fail: async (argv) => {
      throw new CommandFailedError(
        argv,
        null,
        "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\nqemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n",
        'SIGABRT',
      );
    },
    reason: /^QEMU -accel kvm -cpu kvm64 was killed by SIGABRT: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69/,
    notReason: /pni/,
    provisional: false,
  },
  {
    description: 'the payload computed a wrong sum (exit status 43)',
    fail: async (argv) => {
      throw new CommandFailedError(argv, KVM_PROBE_WRONG_EXIT_STATUS, '');
    },
    reason: /computed a wrong 64-bit result/,
    provisional: false,
  },
];

for (const row of failures) {
  test(`probe failure: ${row.description}`, async (t) => {
    const host = await fakeHost(t);
    const runner = new FailingRunner(row.fail);
    const probe = new KvmProbe(host.options);
    const result = await probe.check(runner);
    t.false(result.usable);
    t.regex(result.reason!, row.reason);
    if (row.notReason) t.notRegex(result.reason!, row.notReason);
    t.like(await probe.check(runner), { usable: false, reason: result.reason, source: 'memory' }, 'a failure is cached too');
    t.is(runner.calls.length, 1);
    if (row.provisional) t.is(result.validUntil, result.probedAt + result.durationMs + KVM_PROBE_TIMEOUT_TTL_MS, 'provisional: kept for KVM_PROBE_TIMEOUT_TTL_MS');
    else t.is(result.validUntil, undefined, 'holds for this boot');
  });
}

test('a probe that times out is provisional: kept in memory and in the file until validUntil, then probed again', async (t) => {
  const host = await fakeHost(t);
  let now = Date.UTC(2026, 11, 8, 0, 0, 0);
  const clock = (): number => now;
  // The first run misses the bound (a loaded host), later runs pass.
  let timeouts = 1;
  class LoadedRunner extends RecordingCommandRunner {
    override async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
      if (timeouts-- <= 0) return super.run(argv, options);
      this.calls.push({ argv: [...argv], options });
      throw new CommandTimeoutError(argv, options.timeoutMs!, '');
    }
  }
  const runner = new LoadedRunner([PROBE_OK]);
  const probe = new KvmProbe({ ...host.options, clock });
  const first = await probe.check(runner);
  t.like(first, { usable: false, source: 'probe', probedAt: now });
  t.is(first.validUntil, now + first.durationMs + KVM_PROBE_TIMEOUT_TTL_MS);
  now = first.validUntil! - 1;
  t.like(await probe.check(runner), { usable: false, source: 'memory', validUntil: first.validUntil });
  t.like(await new KvmProbe({ ...host.options, clock }).check(runner), { usable: false, source: 'file', validUntil: first.validUntil }, 'another process shares the provisional answer');
  t.is(runner.calls.length, 1);

  now = first.validUntil!;
  const again = await probe.check(runner);
  t.like(again, { usable: true, source: 'probe', validUntil: undefined }, 'expired: probed again, and KVM works now');
  t.is(runner.calls.length, 2);
  const file = JSON.parse(await readFile(join(host.cacheDir, KVM_PROBE_CACHE_FILE), 'utf8')) as { results: Record<string, { usable: boolean; validUntil?: number }> };
  t.deepEqual(file.results.kvm64 && { usable: file.results.kvm64.usable, validUntil: file.results.kvm64.validUntil }, { usable: true, validUntil: undefined });
  now += 24 * 3600_000;
  t.like(await new KvmProbe({ ...host.options, clock }).check(runner), { usable: true, source: 'file' }, 'a passed probe holds for the boot');
  t.is(runner.calls.length, 2);
});

test('forget drops every answer (memory and cache file, every CPU model): the next check runs QEMU again', async (t) => {
  const host = await fakeHost(t);
  const runner = new RecordingCommandRunner([PROBE_OK]);
  const probe = new KvmProbe(host.options);
  await probe.check(runner);
  await probe.check(runner, { cpu: 'host' });
  t.like(await probe.check(runner), { source: 'memory' });
  t.is(runner.calls.length, 2);
  await probe.forget();
  await t.throwsAsync(readFile(join(host.cacheDir, KVM_PROBE_CACHE_FILE)), { code: 'ENOENT' });
  t.like(await probe.check(runner), { usable: true, source: 'probe' });
  t.like(await new KvmProbe(host.options).check(runner, { cpu: 'host' }), { usable: true, source: 'probe' }, 'another process probes again too');
  t.is(runner.calls.length, 4);
  await new KvmProbe().forget(); // without a cache directory: memory only, nothing to remove
});

qemuTest.serial('a probe QEMU that the runner did not kill at the timeout is killed by pid', async (t) => {
  const host = await fakeHost(t);
  let pid: number | undefined;
  let pidFile: string | undefined;
  // Runs the probe's argv for real but under TCG (the payload then runs for minutes with
  // 2^31-1 rounds), and at the timeout rejects as a runner would, without killing.
  class NonKillingRunner extends RecordingCommandRunner {
    override async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
      this.calls.push({ argv: [...argv], options });
      const real = argv.map((a, i) => (argv[i - 1] === '-accel' ? 'tcg' : i === 0 ? 'qemu-system-x86_64' : a));
      pidFile = argv[argv.indexOf('-pidfile') + 1];
      const child = spawn(real[0]!, real.slice(1), { stdio: 'ignore', detached: true });
      child.unref();
      pid = child.pid;
      t.teardown(() => {
        try {
          process.kill(child.pid!, 'SIGKILL');
        } catch {
          // gone, as it should be
        }
      });
      await new Promise((r) => setTimeout(r, options.timeoutMs));
      throw new CommandTimeoutError(argv, options.timeoutMs!, '');
    }
  }
  const probe = new KvmProbe({ ...host.options, timeoutMs: 1_500, iterations: 0x7fff_ffff });
  const result = await probe.check(new NonKillingRunner());
  t.false(result.usable);
  t.regex(result.reason!, /did not finish within 1500 ms \(it reached 64-bit long mode/);
  t.truthy(pid);
  t.false(await isQemuOf(pid!, pidFile!), 'the probe QEMU is gone (dead or a zombie)');
});
