/**
 * The KVM probe's guest under real QEMU with TCG (the stand-in for "a KVM that works"): it
 * goes through real mode, builds page tables, reaches 64-bit long mode, runs its workload
 * and exits through isa-debug-exit with the expected status. A corrupted expected sum makes
 * it exit with the other status, so the check inside the payload is live.
 */
import test from 'ava';
import { hasProgram, realTest } from '@corral/core/testing';
import { KVM_PROBE_ITERATIONS, KVM_PROBE_OK_EXIT_STATUS, KVM_PROBE_WRONG_EXIT_STATUS, kvmProbePayload } from '../src/runtime/kvmProbePayload.js';
import { bootProbePayload } from './support-kvm/bootProbePayload.js';

const qemuTest = realTest(test, hasProgram('qemu-system-x86_64'), 'qemu-system-x86_64 is not installed (package qemu-system-x86)');

qemuTest('the probe payload reaches long mode, finishes its workload and exits with the OK status under TCG', async (t) => {
  const boot = await bootProbePayload(t, kvmProbePayload(), { accel: 'tcg', timeoutMs: 30_000 });
  t.log(`TCG: ${KVM_PROBE_ITERATIONS} rounds in ${Math.round(boot.durationMs)} ms (QEMU start included)`);
  t.false(boot.timedOut, boot.stderr);
  t.is(boot.stages, 'RPLW', 'real mode, page tables, long mode, workload');
  t.is(boot.exitCode, KVM_PROBE_OK_EXIT_STATUS, boot.stderr);
});

qemuTest('a wrong expected sum makes the payload exit with the WRONG status (the 64-bit check is live)', async (t) => {
  const image = kvmProbePayload(1000);
  // `mov rdx, imm64` (48 ba) holds n(n+1)/2 = 500500: add one to it
  const at = image.indexOf(Buffer.from([0x48, 0xba]), 0x200);
  t.true(at > 0);
  t.is(image.readBigUInt64LE(at + 2), 500500n);
  image.writeBigUInt64LE(500501n, at + 2);
  const boot = await bootProbePayload(t, image, { accel: 'tcg', timeoutMs: 30_000 });
  t.is(boot.stages, 'RPLX');
  t.is(boot.exitCode, KVM_PROBE_WRONG_EXIT_STATUS);
});

test('the payload is a 64 KiB image with the reset vector jumping to its start; bad iteration counts are refused', (t) => {
  const image = kvmProbePayload();
  t.is(image.length, 0x10000);
  t.deepEqual([...image.subarray(0xfff0, 0xfff3)], [0xe9, 0x0d, 0x00], 'jmp near 0x0000 from 0xfff3');
  t.deepEqual(kvmProbePayload(5), kvmProbePayload(5), 'deterministic');
  t.notDeepEqual(kvmProbePayload(5), kvmProbePayload(6));
  for (const bad of [0, -1, 1.5, 2 ** 31]) t.throws(() => kvmProbePayload(bad), { instanceOf: RangeError });
});
