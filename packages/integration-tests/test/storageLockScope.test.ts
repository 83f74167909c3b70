/**
 * `storage:<id>` is held only while a new volume's name is chosen and reserved, never while a
 * full copy, an import or an upload moves its data (issue 25 point 3): a long copy in one
 * process does not stall the allocations of another, and names stay unique because a chosen
 * name is reserved until its volume exists or was freed.
 *
 * "While the copy runs" is an order of events, not a clock: the cloning process is frozen
 * (SIGSTOP) in the middle of its copy, once its target exists and before the last chunk of it
 * was written, and resumed only after the other process's allocations all returned.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeSizeHeader, ErrorCodes, type Kernel } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { fillWithData, openTestNode, tinyVmConfig } from './support/nodeKernel.js';
import { freeze, race, resultLines, resume, spawnRaceChild } from './support/raceChildren.js';

const qemuTest = realTest(test, hasProgram('qemu-system-x86_64') && hasProgram('qemu-img'), 'qemu-system-x86_64 and qemu-img are not installed');
const imgTest = realTest(test, hasProgram('qemu-img'), 'qemu-img is not installed');

const MiB = 1024 * 1024;
/** Chunk size of {@link fillWithData}. */
const CHUNK = 4 * MiB;

/** The host path of a volume on the dir storage. */
async function hostPath(kernel: Kernel, volid: string): Promise<string> {
  return ((await kernel.storage.resolve(volid)) as { path: string }).path;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `length` bytes of `path` from `offset` (fewer when the file is shorter). */
async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Waits until `path` exists (polling; gives up after 4000 looks). */
async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (existsSync(path)) return;
    await sleep(5);
  }
  throw new Error(`${path} did not appear`);
}

/** The `ok` results of a race child, each parsed; fails the test on an `err` line. */
function okResults(t: { true(v: boolean, m?: string): void }, lines: readonly string[]): string[] {
  return lines.map((l) => {
    t.true(l.startsWith('ok '), l);
    return JSON.parse(l.slice(3)) as string;
  });
}

/**
 * A source stream whose data the test hands out: `started` resolves when its reader first
 * asks for data (the operation is past its name reservation), `push` gives data, `end` and
 * `fail` finish it.
 */
function controlledStream(): { stream: Readable; started: Promise<void>; push(b: Buffer): void; end(): void; fail(e: Error): void } {
  let onStart!: () => void;
  const started = new Promise<void>((resolve) => (onStart = resolve));
  const stream = new Readable({ read: () => onStart() });
  return { stream, started, push: (b) => stream.push(b), end: () => stream.push(null), fail: (e) => stream.destroy(e) };
}

qemuTest.serial('while a full clone copies in one process, 20 allocations on the same storage in another all complete; the clone then completes intact', async (t) => {
  const { base, kernel } = await openTestNode(t, 'corral-lockscope-');
  const size = 512 * MiB;
  await kernel.guests.create('qemu', tinyVmConfig({ scsi0: 'local:0.5,format=raw' }), { vmid: 100 });
  const srcPath = await hostPath(kernel, (await kernel.guests.config(100)).config.scsi0!.split(',')[0]!);
  await fillWithData(srcPath, size);
  const target = join(dirname(dirname(srcPath)), '101', 'vm-101-disk-0.raw');

  const cloner = spawnRaceChild(base, { op: 'clone', vmid: 100, count: 1, arg: '101' });
  const allocator = spawnRaceChild(base, { op: 'allocate', vmid: 101, count: 20 });
  t.teardown(() => {
    for (const c of [cloner, allocator]) {
      resume(c);
      c.kill();
    }
  });
  await Promise.all([cloner.waitFor(/^ready$/, 20_000), allocator.waitFor(/^ready$/, 20_000)]);
  cloner.send('go');

  // Copy started: the target exists. Freeze the cloner there, mid-copy.
  await waitForFile(target);
  freeze(cloner);
  const lastChunk = await readAt(srcPath, size - CHUNK, CHUNK);
  t.false((await readAt(target, size - CHUNK, CHUNK)).equals(lastChunk), 'the copy was frozen before its end');
  t.deepEqual(resultLines(cloner), []);

  allocator.send('go');
  await allocator.waitFor(/^done$/, 120_000);
  const allocated = okResults(t, resultLines(allocator));
  // All 20 returned while the copy was frozen, skipping the clone's target name.
  t.deepEqual(allocated, Array.from({ length: 20 }, (_, i) => `local:101/vm-101-disk-${i + 1}.qcow2`));
  t.deepEqual(resultLines(cloner), [], 'the clone had not finished');

  resume(cloner);
  await cloner.waitFor(/^done$/, 120_000);
  const cloned = resultLines(cloner);
  t.is(cloned.length, 1);
  t.true(cloned[0]!.startsWith('ok '), cloned[0]);
  const copy = (await kernel.guests.config(101)).config;
  t.false('lock' in copy);
  t.is(copy.scsi0!.split(',')[0], 'local:101/vm-101-disk-0.raw');
  t.is(await sha256(target), await sha256(srcPath), 'the clone holds the source bytes');
  const onStorage = (await kernel.storage.listVolumes('local', { vmid: 101 })).map((v) => v.volid).sort();
  t.deepEqual(onStorage, ['local:101/vm-101-disk-0.raw', ...allocated].sort());
});

imgTest.serial('two processes full-copying to one storage for one guest at once never pick the same target name', async (t) => {
  const { base, kernel } = await openTestNode(t, 'corral-lockscope-');
  const size = 16 * MiB;
  const source = await kernel.storage.allocate({ storage: 'local', vmid: 100, sizeBytes: size, format: 'raw' });
  const srcPath = await hostPath(kernel, source);
  await fillWithData(srcPath, size);

  const [a, b] = await race(t, base, [
    { op: 'copy', vmid: 200, count: 8, arg: source },
    { op: 'copy', vmid: 200, count: 8, arg: source },
  ]);
  const copies = okResults(t, [...a!, ...b!]);
  t.is(new Set(copies).size, 16, 'no target name handed out twice');
  t.deepEqual([...copies].sort(), Array.from({ length: 16 }, (_, i) => `local:200/vm-200-disk-${i}.raw`).sort());
  const listed = (await kernel.storage.listVolumes('local', { vmid: 200 })).map((v) => v.volid).sort();
  t.deepEqual(listed, [...copies].sort());
  const want = await sha256(srcPath);
  for (const volid of copies) t.is(await sha256(await hostPath(kernel, volid)), want, volid);
});

imgTest.serial('an import holds the storage lock only to reserve its name: an allocation meanwhile skips the reserved name; a failed import frees its volume and its name', async (t) => {
  const { kernel } = await openTestNode(t, 'corral-lockscope-');
  const vmid = 300;
  const volumes = async () => (await kernel.storage.listVolumes('local', { vmid })).map((v) => v.volid).sort();

  // An import waiting for its first byte: its name is reserved, nothing is on disk yet.
  const first = controlledStream();
  let firstSettled = false;
  const importing = kernel.storage.importVolume({ storage: 'local', vmid, format: 'raw+size', stream: first.stream, volumeFormat: 'raw' });
  void importing.finally(() => (firstSettled = true)).catch(() => undefined);
  await first.started;
  t.deepEqual(await volumes(), []);
  const allocated = await kernel.storage.allocate({ storage: 'local', vmid, sizeBytes: MiB, format: 'qcow2' });
  t.is(allocated, `local:${vmid}/vm-${vmid}-disk-1.qcow2`, 'the reserved disk-0 is skipped');
  t.false(firstSettled, 'the allocation completed while the import waited for data');
  const data = Buffer.alloc(MiB, 7);
  first.push(Buffer.concat([encodeSizeHeader(data.length), data]));
  first.end();
  const imported = await importing;
  t.is(imported, `local:${vmid}/vm-${vmid}-disk-0.raw`);
  t.true((await readAt(await hostPath(kernel, imported), 0, data.length)).equals(data));

  // An import that fails once its volume exists: the volume is freed, the name free again.
  const second = controlledStream();
  const failing = kernel.storage.importVolume({ storage: 'local', vmid, format: 'raw+size', stream: second.stream, volumeFormat: 'raw' });
  const failed = t.throwsAsync(failing, { message: /source went away/ });
  await second.started;
  second.push(Buffer.concat([encodeSizeHeader(8 * MiB), data]));
  await waitForFile(join(dirname(await hostPath(kernel, imported)), `vm-${vmid}-disk-2.raw`));
  second.fail(new Error('source went away'));
  await failed;
  t.deepEqual(await volumes(), [allocated, imported].sort(), 'no partial volume is left');
  t.is(await kernel.storage.allocate({ storage: 'local', vmid, sizeBytes: MiB, format: 'qcow2' }), `local:${vmid}/vm-${vmid}-disk-2.qcow2`);
});

imgTest.serial('an upload holds the storage lock only to reserve its file name: allocations go on meanwhile, a second upload of that name is refused', async (t) => {
  const { kernel } = await openTestNode(t, 'corral-lockscope-');
  const upload = controlledStream();
  let settled = false;
  const uploading = kernel.storage.upload({ storage: 'local', content: 'iso', filename: 'slow.iso', stream: upload.stream });
  void uploading.finally(() => (settled = true)).catch(() => undefined);
  await upload.started;

  t.is(await kernel.storage.allocate({ storage: 'local', vmid: 100, sizeBytes: MiB, format: 'qcow2' }), 'local:100/vm-100-disk-0.qcow2');
  const again = await t.throwsAsync(kernel.storage.upload({ storage: 'local', content: 'iso', filename: 'slow.iso', stream: Readable.from([Buffer.from('other')]) }));
  t.is((again as Error & { code?: string }).code, ErrorCodes.alreadyExists);
  t.false(settled, 'both returned while the upload waited for data');

  const data = Buffer.alloc(MiB, 3);
  upload.push(data);
  upload.end();
  t.is(await uploading, 'local:iso/slow.iso');
  t.true((await readAt(await hostPath(kernel, 'local:iso/slow.iso'), 0, data.length + 1)).equals(data));
});
