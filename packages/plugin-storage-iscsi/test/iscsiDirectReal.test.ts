import test from 'ava';
import { open, readFile, writeFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { ErrorCodes, ROOT_CALLER } from '@corral/core';
import { hasProgram, makeTempDir, realTest, runToolOk } from '@corral/core/testing';
import { collectStream } from '@corral/storage-testkit';
import { createTgtTestTarget, TGT_TEST_PROGRAMS, type TgtTestTarget } from './support/TgtTestTarget.js';
import { iscsiTestKernel } from './support/iscsiTestKernel.js';
import { IscsiDirectStorageDriver } from '../src/index.js';

const MiB = 1024 * 1024;
const missing = TGT_TEST_PROGRAMS.filter((p) => !hasProgram(p));
const tgtTest = realTest(test, missing.length === 0, `${missing.join(', ')} not installed (Debian packages tgt, libiscsi-bin, qemu-utils, qemu-block-extra)`);

// One real tgtd for the file: LUN 1 of 70 MiB (two export chunks), LUN 2 of 3 GiB (sparse;
// iscsi-ls shows it as "2G"), LUN 3 of 100 KiB (not a multiple of 64 KiB).
let tgt: TgtTestTarget | undefined;
const LUNS = [
  { lun: 1, sizeBytes: 70 * MiB },
  { lun: 2, sizeBytes: 3 * 1024 * MiB },
  { lun: 3, sizeBytes: 100 * 1024 },
];
test.before(async () => {
  if (missing.length > 0) return;
  tgt = await createTgtTestTarget({ parent: await makeTempDir(undefined, 'corral-iscsi-'), luns: LUNS });
  // Recognisable bytes in LUN 1 (at 1 MiB and in the second 64 MiB chunk) and LUN 3.
  const fh = await open(tgt.lunFile(1), 'r+');
  await fh.write(Buffer.alloc(MiB, 0x11), 0, MiB, MiB);
  await fh.write(Buffer.alloc(4096, 0x22), 0, 4096, 66 * MiB);
  await fh.close();
  await writeFile(tgt.lunFile(3), Buffer.alloc(100 * 1024, 0x33));
});
test.after.always(async () => {
  await tgt?.stop();
});

tgtTest('lists the disk LUNs of its own target as lun<N>, with exact sizes; a guest filter lists none', async (t) => {
  const kernel = await iscsiTestKernel(t, tgt!);
  const vols = await kernel.storage.listVolumes('san');
  t.deepEqual(
    vols.map((v) => [v.volid, v.sizeBytes, v.format, v.content, v.vmid]),
    [
      ['san:lun1', 70 * MiB, 'raw', 'images', undefined],
      ['san:lun2', 3 * 1024 * MiB, 'raw', 'images', undefined],
      ['san:lun3', 100 * 1024, 'raw', 'images', undefined],
    ],
  );
  t.deepEqual(await kernel.storage.listVolumes('san', { vmid: 100 }), []);
  t.is((await kernel.storage.volumeInfo('san:lun2')).sizeBytes, 3 * 1024 * MiB);
});

tgtTest('content none (a storage that carries an LVM volume group): its LUNs are still listed and resolved, as Proxmox lists them', async (t) => {
  const kernel = await iscsiTestKernel(t, tgt!);
  await kernel.storage.add('base', 'iscsidirect', { portal: tgt!.portal, target: tgt!.target, content: 'none' }, { caller: ROOT_CALLER });
  t.deepEqual((await kernel.storage.get('base')).content, []);
  t.deepEqual((await kernel.storage.listVolumes('base')).map((v) => v.volid), ['base:lun1', 'base:lun2', 'base:lun3']);
  t.is((await kernel.storage.resolve('base:lun1', { consumer: 'qemu' })).kind, 'qemu');
});

tgtTest('resolves a LUN to QEMU iscsi access that a real qemu-img and qemu-io open (URL and -blockdev JSON)', async (t) => {
  const kernel = await iscsiTestKernel(t, tgt!);
  const access = await kernel.storage.resolve('san:lun1', { consumer: 'qemu' });
  t.deepEqual(access, {
    kind: 'qemu',
    blockdev: { driver: 'iscsi', transport: 'tcp', portal: tgt!.portal, target: tgt!.target, lun: 1 },
    url: `iscsi://${tgt!.portal}/${tgt!.target}/1`,
    format: 'raw',
  });
  if (access.kind !== 'qemu') return;
  const byUrl = JSON.parse((await runToolOk(['qemu-img', 'info', '--output=json', '-f', 'raw', access.url])).stdout) as { 'virtual-size': number };
  t.is(byUrl['virtual-size'], 70 * MiB);
  const spec = `json:${JSON.stringify({ driver: 'raw', file: access.blockdev })}`;
  const byBlockdev = JSON.parse((await runToolOk(['qemu-img', 'info', '--output=json', spec])).stdout) as { 'virtual-size': number };
  t.is(byBlockdev['virtual-size'], 70 * MiB);
  // qemu-io reads what the LUN file holds, and its writes land in the file (on LUN 2: the
  // export test reads LUN 1 concurrently).
  await runToolOk(['qemu-io', '-f', 'raw', '-c', `read -P 0x11 ${MiB} ${MiB}`, access.url]);
  const lun2 = await kernel.storage.resolve('san:lun2', { consumer: 'qemu' });
  if (lun2.kind !== 'qemu') return t.fail(`lun2 resolved to ${lun2.kind}`);
  await runToolOk(['qemu-io', '-f', 'raw', '-c', `write -P 0x44 ${8 * MiB} 65536`, lun2.url]);
  const fh = await open(tgt!.lunFile(2), 'r');
  const back = Buffer.alloc(65536);
  await fh.read(back, 0, 65536, 8 * MiB);
  await fh.close();
  t.true(back.every((b) => b === 0x44), 'bytes written through iscsi:// are in the LUN file');
  t.deepEqual(await kernel.storage.resolve('san:lun3', { consumer: 'host' }), { ...access, blockdev: { ...access.blockdev, lun: 3 }, url: `iscsi://${tgt!.portal}/${tgt!.target}/3` });
});

const systemTest = realTest(test, missing.length === 0 && hasProgram('qemu-system-x86_64'), 'qemu-system-x86_64 or the iSCSI tools are not installed (Debian packages qemu-system-x86, tgt, libiscsi-bin)');

systemTest('a real QEMU process opens the -blockdev JSON that resolve answers (QMP query-named-block-nodes)', async (t) => {
  const kernel = await iscsiTestKernel(t, tgt!);
  const access = await kernel.storage.resolve('san:lun2', { consumer: 'qemu' });
  if (access.kind !== 'qemu') return t.fail(`resolve answered ${access.kind}`);
  const qmp = ['qmp_capabilities', 'query-named-block-nodes', 'quit'].map((c) => JSON.stringify({ execute: c })).join('\n');
  const r = await runToolOk(
    ['qemu-system-x86_64', '-S', '-nodefaults', '-display', 'none', '-machine', 'none', '-qmp', 'stdio', '-blockdev', JSON.stringify({ ...access.blockdev, 'node-name': 'lun2' })],
    { input: `${qmp}\n`, timeoutMs: 120_000 },
  );
  const nodes = r.stdout
    .split('\n')
    .filter((l) => l.includes('"return": ['))
    .flatMap((l) => (JSON.parse(l) as { return: Array<{ 'node-name': string; drv: string; image: { 'virtual-size': number } }> }).return);
  const node = nodes.find((n) => n['node-name'] === 'lun2');
  t.is(node?.drv, 'iscsi');
  t.is(node?.image['virtual-size'], 3 * 1024 * MiB);
});

tgtTest('exports raw+size byte for byte (more than one 64 MiB chunk, and a size that is no multiple of 64 KiB)', async (t) => {
  const kernel = await iscsiTestKernel(t, tgt!);
  for (const lun of [1, 3]) {
    const { stream, done } = collectStream();
    await kernel.storage.exportVolume(`san:lun${lun}`, { format: 'raw+size', stream });
    const data = await done;
    const file = await readFile(tgt!.lunFile(lun));
    t.is(data.readBigUInt64LE(0), BigInt(file.length), `lun${lun}: size header`);
    t.true(data.subarray(8).equals(file), `lun${lun}: bytes after the header are the LUN's`);
  }
  await t.throwsAsync(kernel.storage.exportVolume('san:lun1', { format: 'qcow2+size', stream: new PassThrough() }), { code: ErrorCodes.notSupported });
});

tgtTest('copies a LUN to a dir storage (full copy of the current state)', async (t) => {
  const kernel = await iscsiTestKernel(t, tgt!);
  const copy = await kernel.storage.copy('san:lun3', { targetStorage: 'local', vmid: 4242 });
  t.regex(copy, /^local:4242\/vm-4242-disk-0\.raw$/);
  const access = await kernel.storage.resolve(copy, { consumer: 'host' });
  if (access.kind !== 'file') return t.fail(`dir answered ${access.kind}`);
  t.true((await readFile(access.path)).equals(await readFile(tgt!.lunFile(3))));
});

tgtTest('a missing LUN is NotFoundError; allocate, free, resize, snapshots and containers are NotSupportedError', async (t) => {
  const kernel = await iscsiTestKernel(t, tgt!);
  await t.throwsAsync(kernel.storage.volumeInfo('san:lun9'), { code: ErrorCodes.notFound, message: /san:lun9/ });
  await t.throwsAsync(kernel.storage.resolve('san:lun9', { consumer: 'qemu' }), { code: ErrorCodes.notFound });
  // The facade checks free space before it asks the driver (StorageFullError: status reports 0
  // available); the driver itself refuses with NotSupportedError. Either way nothing appears.
  const refused = await t.throwsAsync(kernel.storage.allocate({ storage: 'san', vmid: 100, sizeBytes: MiB }));
  t.true([ErrorCodes.notSupported, ErrorCodes.storageFull].includes((refused as { code?: string } | undefined)?.code as never), `allocate: ${refused?.message}`);
  const driver = new IscsiDirectStorageDriver();
  await t.throwsAsync(driver.allocate({} as never, { vmid: 100, name: 'vm-100-disk-0', format: 'raw', sizeBytes: MiB, content: 'images' }), { code: ErrorCodes.notSupported, message: /cannot allocate/ });
  t.deepEqual((await kernel.storage.listVolumes('san')).map((v) => v.volname), ['lun1', 'lun2', 'lun3']);
  await t.throwsAsync(kernel.storage.free('san:lun1'), { code: ErrorCodes.notSupported });
  await t.throwsAsync(kernel.storage.resize('san:lun1', { sizeBytes: 128 * MiB }), { code: ErrorCodes.notSupported });
  await t.throwsAsync(kernel.storage.snapshotCreate('san:lun1', 'snap1'), { code: ErrorCodes.notSupported });
  await t.throwsAsync(kernel.storage.resolve('san:lun1', { consumer: 'container' }), { code: ErrorCodes.notSupported });
  await t.throwsAsync(kernel.storage.volumeInfo('san:lun01'), { code: ErrorCodes.invalidVolumeId });
  await t.throwsAsync(kernel.storage.volumeInfo('san:0.0.1.scsi-3600'), { code: ErrorCodes.invalidVolumeId });
});

tgtTest('status: the LUNs total as size and use; an unreachable portal is inactive and listing it is UnavailableError', async (t) => {
  const kernel = await iscsiTestKernel(t, tgt!);
  const s = await kernel.storage.status('san');
  t.true(s.active);
  t.is(s.totalBytes, LUNS.reduce((n, l) => n + l.sizeBytes, 0));
  t.is(s.usedBytes, s.totalBytes);
  t.is(s.availableBytes, 0);
  // Port 9 (discard): nothing listens there on this host.
  const down = await iscsiTestKernel(t, { portal: '127.0.0.1:9', target: tgt!.target });
  t.false((await down.storage.status('san')).active);
  await t.throwsAsync(down.storage.listVolumes('san'), { code: ErrorCodes.unavailable, message: /127\.0\.0\.1:9/ });
  // The right portal, a target it does not offer.
  const other = await iscsiTestKernel(t, { portal: tgt!.portal, target: `${tgt!.target}-none` });
  await t.throwsAsync(other.storage.listVolumes('san'), { code: ErrorCodes.unavailable, message: /does not offer target/ });
});
