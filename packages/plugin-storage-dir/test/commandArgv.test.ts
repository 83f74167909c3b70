import test from 'ava';
import { join } from 'node:path';
import { NodeCommandRunner, ROOT_CALLER } from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, realTest, RecordingCommandRunner } from '@corral/core/testing';
import { collectStream } from '@corral/storage-testkit';
import { storageDirPlugin } from '../src/index.js';

// The argv the driver builds, recorded on the way to the real programs (no shell, no string
// commands): what pve-storage runs for the same operations.
const qemuTest = realTest(test, ['qemu-img', 'qemu-nbd'].every(hasProgram), 'qemu-utils is not installed');

qemuTest('argv of allocate, resize, snapshot, template, clone and snapshot export', async (t) => {
  const recorder = new RecordingCommandRunner([], new NodeCommandRunner());
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin], commandRunner: recorder });
  const path = await makeTempDir(t);
  await kernel.storage.add('store', 'dir', { path, content: 'images' }, { caller: ROOT_CALLER });
  const img = (p: string) => join(path, 'images', p);

  const v = await kernel.storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 8 << 20, format: 'qcow2' });
  const raw = await kernel.storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 8 << 20 });
  await kernel.storage.resize(raw, { sizeBytes: 4 << 20 });
  await kernel.storage.snapshotCreate(v, 'snap1');
  await kernel.storage.exportVolume(v, { format: 'raw+size', stream: collectStream().stream, snapshot: 'snap1' });
  const base = await kernel.storage.createBase(v);
  await kernel.storage.cloneLinked(base, { vmid: 101 });

  const calls = recorder.calls.filter((c) => c.argv[0] !== 'qemu-img' || c.argv[1] !== 'info');
  t.deepEqual(
    calls.map((c) => c.argv),
    [
      ['qemu-img', 'create', '-o', 'preallocation=metadata', '-f', 'qcow2', img('100/vm-100-disk-0.qcow2'), String(8 << 20)],
      ['qemu-img', 'create', '-o', 'preallocation=off', '-f', 'raw', img('100/vm-100-disk-1.raw'), String(8 << 20)],
      ['qemu-img', 'resize', '-f', 'raw', '--shrink', img('100/vm-100-disk-1.raw'), String(4 << 20)],
      ['qemu-img', 'snapshot', '-c', 'snap1', img('100/vm-100-disk-0.qcow2')],
      ['qemu-nbd', '--socket', calls[4]!.argv[2]!, '--format', 'qcow2', '--shared', '1', '--read-only', '--load-snapshot', 'snapshot.name=snap1', img('100/vm-100-disk-0.qcow2')],
      ['qemu-img', 'create', '-f', 'qcow2', '-b', '../100/base-100-disk-0.qcow2', '-F', 'qcow2', img('101/vm-101-disk-0.qcow2')],
    ],
  );
  t.is(calls[5]!.options.cwd, img('101'), 'clone runs in the guest dir, as pve-storage does, so the backing path is relative');
  t.true(recorder.calls.every((c) => Array.isArray(c.argv)), 'argv arrays only');
});
