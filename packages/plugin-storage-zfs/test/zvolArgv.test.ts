/**
 * The zvol paths of the zfspool driver (raw volumes: `zfs create -V`, `volsize`,
 * `/dev/zvol/...`), which zfs-fuse cannot run: argv checked exactly, output replayed from
 * recorded zfs-fuse files (`test/fixtures/driver-*`) and from files derived from them for
 * zvol rows (`test/fixtures/zvol/`, see its README). `/dev/zvol` is a temporary directory in
 * which the scripted `zfs create`/`zfs clone` make the device link appear, as udev does.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { definePlugin, ErrorCodes, extensionPoints, PLUGIN_API_VERSION, ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir, RecordingCommandRunner, type ScriptedCommand } from '@corral/core/testing';
import { ZfsCommands, ZfsStorageDriver } from '../src/index.js';
import { zfsFixture, zfsFixtureRows } from './support/zfsFixtures.js';

const POOL = 'corralfixture';
const MiB = 1024 * 1024;
const VOLUME_PROPS = ['type', 'volsize', 'refquota', 'origin', 'creation', 'usedbydataset'];
const ok = (match: ScriptedCommand['match'], stdout = ''): ScriptedCommand => ({ match, stdout });
const failed = (match: ScriptedCommand['match'], file: string, exitCode = 1): ScriptedCommand => ({ match, stderr: zfsFixture(file), exitCode });

/** A kernel whose zfspool driver uses `runner` and a private /dev/zvol, with storage `tank` on POOL. */
/**
 * A kernel with a zfspool storage on the scripted runner. `zvolDeviceWaitMs`: how long the driver
 * waits for a device link (the driver's default; short only where the link never appears).
 */
async function setup(t: ExecutionContext, script: ScriptedCommand[], options: Record<string, string> = {}, zvolDeviceWaitMs?: number) {
  const devRoot = await makeTempDir(t, 'corral-zvol-');
  await mkdir(join(devRoot, POOL), { recursive: true });
  const runner = new RecordingCommandRunner([
    // checkDefinition / activate: the pool dataset exists (row of the recorded listing).
    ok(ZfsCommands.get(['type'], [POOL]), zfsFixtureRows('driver-get-d1-listing.txt', POOL, ['type'])),
    ok(ZfsCommands.get(['used', 'available'], [POOL]), zfsFixture('driver-get-pool-used-available.txt')),
    ok(ZfsCommands.get(VOLUME_PROPS, [POOL], { depth: 1 }), zfsFixture('zvol/get-d1-listing.txt')),
    ...script,
  ]);
  const driver = new ZfsStorageDriver({ zvolDeviceRoot: devRoot, zvolDeviceWaitMs });
  const plugin = definePlugin({ id: 'storage-zfs', apiVersion: PLUGIN_API_VERSION, register: (env) => env.extend(extensionPoints.storageDrivers, 'zfspool', driver) });
  const kernel = await createTestKernel(t, { plugins: [plugin], commandRunner: runner });
  await kernel.storage.add('tank', 'zfspool', { pool: POOL, sparse: '1', blocksize: '16k', ...options }, { caller: ROOT_CALLER });
  runner.calls.length = 0;
  /** Makes the device link of `name` appear with `size` bytes (what udev does for a new zvol). */
  const device = (name: string, size = 0) => async () => {
    // Appears at once, with its size (a temp file renamed into place).
    await writeFile(join(devRoot, `.${name}`), Buffer.alloc(size));
    await rename(join(devRoot, `.${name}`), join(devRoot, POOL, name));
  };
  return { kernel, runner, devRoot, device };
}

/** A scripted command that runs `effect` when it matches (e.g. creates the device link). */
function withEffect(argv: readonly string[], effect: () => Promise<void>): ScriptedCommand {
  let pending: Promise<void> | undefined;
  return {
    match: (a) => {
      const hit = a.length === argv.length && a.every((x, i) => x === argv[i]);
      if (hit) pending ??= effect();
      return hit;
    },
  };
}

test('allocate: zfs create -s -b 16k -V <size rounded up to 1 MiB>, then the /dev/zvol link', async (t) => {
  const create = ZfsCommands.createVolume(`${POOL}/vm-112-disk-0`, { sizeBytes: 6 * MiB, sparse: true, blocksize: '16k' });
  t.deepEqual(create, ['zfs', 'create', '-s', '-b', '16k', '-V', String(6 * MiB), `${POOL}/vm-112-disk-0`]);
  let s!: Awaited<ReturnType<typeof setup>>;
  s = await setup(t, [withEffect(create, () => s.device('vm-112-disk-0')())]);
  const volid = await s.kernel.storage.allocate({ storage: 'tank', vmid: 112, sizeBytes: 5 * MiB + 1 });
  t.is(volid, 'tank:vm-112-disk-0', 'disk-1 is taken (listing), disk-0 is free');
  t.true(s.runner.argvs.some((a: string[]) => JSON.stringify(a) === JSON.stringify(create)), JSON.stringify(s.runner.argvs));
});

test('allocate without sparse/blocksize: thick zvol; the device link never appearing is UnavailableError and the zvol is destroyed', async (t) => {
  const create = ZfsCommands.createVolume(`${POOL}/vm-120-disk-0`, { sizeBytes: 8 * MiB });
  t.deepEqual(create, ['zfs', 'create', '-V', String(8 * MiB), `${POOL}/vm-120-disk-0`]);
  const s = await setup(t, [ok(create), ok(ZfsCommands.destroy(`${POOL}/vm-120-disk-0`, { recursive: true }))], { sparse: '0' }, 300);
  await s.kernel.storage.update('tank', {}, { delete: ['blocksize'] });
  await t.throwsAsync(s.kernel.storage.allocate({ storage: 'tank', vmid: 120, sizeBytes: 8 * MiB }), { code: ErrorCodes.unavailable, message: /no zvol device link/ });
  t.deepEqual(s.runner.argvs.slice(-2), [create, ['zfs', 'destroy', '-r', `${POOL}/vm-120-disk-0`]], 'undo after the create: the zvol is destroyed');
});

test('allocate on zfs-fuse: the recorded abort is NotSupportedError, nothing left', async (t) => {
  const create = ZfsCommands.createVolume(`${POOL}/vm-121-disk-0`, { sizeBytes: 16 * MiB, sparse: true, blocksize: '16k' });
  const s = await setup(t, [failed(create, 'driver-create-zvol-failure.txt', 134), failed(ZfsCommands.destroy(`${POOL}/vm-121-disk-0`, { recursive: true }), 'driver-destroy-missing.txt')]);
  await t.throwsAsync(s.kernel.storage.allocate({ storage: 'tank', vmid: 121, sizeBytes: 16 * MiB }), { code: ErrorCodes.notSupported, message: /cannot create zvols/ });
  t.deepEqual(s.runner.argvs.slice(-2), [create, ZfsCommands.destroy(`${POOL}/vm-121-disk-0`, { recursive: true })], 'undo after the failed create: zfs destroy -r of the zvol');
});

test('list and info: zvols are raw images, a clone of base@__base__ is base-X/vm-Y with the base as parent', async (t) => {
  const s = await setup(t, [ok(ZfsCommands.get(VOLUME_PROPS, [`${POOL}/vm-111-disk-0`]), zfsFixture('zvol/get-volume-clone.txt'))]);
  const all = await s.kernel.storage.listVolumes('tank');
  t.deepEqual(
    all.map((v) => [v.volid, v.format, v.content, v.sizeBytes, v.isBase, v.parent ?? null]),
    [
      ['tank:base-110-disk-0', 'raw', 'images', 8 * MiB, true, null],
      ['tank:base-110-disk-0/vm-111-disk-0', 'raw', 'images', 8 * MiB, false, 'tank:base-110-disk-0'],
      ['tank:subvol-100-disk-0', 'subvol', 'rootdir', 64 * MiB, false, null],
      ['tank:vm-112-disk-1', 'raw', 'images', 33 * MiB, false, null],
    ],
  );
  t.deepEqual((await s.kernel.storage.listVolumes('tank', { content: 'images', vmid: 112 })).map((v) => v.volid), ['tank:vm-112-disk-1']);
  const info = await s.kernel.storage.volumeInfo('tank:vm-111-disk-0');
  t.is(info.volid, 'tank:base-110-disk-0/vm-111-disk-0', 'canonical volid of a linked clone');
  t.is(info.ctime, 1795628613);
});

test('resize: zfs set volsize=<bytes rounded up to 1 MiB>; resolve: the /dev/zvol block device', async (t) => {
  const ds = `${POOL}/vm-112-disk-1`;
  const s = await setup(t, [
    ok(ZfsCommands.get(VOLUME_PROPS, [ds]), zfsFixtureRows('zvol/get-d1-listing.txt', ds)),
    ok(ZfsCommands.set(ds, 'volsize', String(41 * MiB))),
    ok(ZfsCommands.get(['type'], [ds]), zfsFixture('zvol/get-type-volume.txt')),
  ]);
  await s.kernel.storage.resize('tank:vm-112-disk-1', { sizeBytes: 40 * MiB + 512 });
  t.true(s.runner.argvs.some((a: string[]) => a.join(' ') === `zfs set volsize=${41 * MiB} ${ds}`));
  await s.device('vm-112-disk-1')();
  const a = await s.kernel.storage.resolve('tank:vm-112-disk-1', { consumer: 'qemu' });
  t.deepEqual(a, { kind: 'block', path: join(s.devRoot, POOL, 'vm-112-disk-1'), format: 'raw' });
  await t.throwsAsync(s.kernel.storage.resolve('tank:vm-112-disk-1', { consumer: 'qemu', snapshot: 's1' }), { code: ErrorCodes.notSupported });
  await t.throwsAsync(s.kernel.storage.resize('tank:vm-112-disk-1', { sizeBytes: 16 * MiB }), { code: ErrorCodes.notSupported }, 'no shrink');
});

test('template and linked clone of a zvol: rename vm→base + @__base__, zfs clone base@__base__', async (t) => {
  let s!: Awaited<ReturnType<typeof setup>>;
  const clone = ZfsCommands.clone(`${POOL}/base-110-disk-0@__base__`, `${POOL}/vm-113-disk-0`);
  t.deepEqual(clone, ['zfs', 'clone', `${POOL}/base-110-disk-0@__base__`, `${POOL}/vm-113-disk-0`]);
  s = await setup(t, [
    ok(ZfsCommands.rename(`${POOL}/vm-112-disk-1`, `${POOL}/base-112-disk-1`)),
    ok(ZfsCommands.snapshot(`${POOL}/base-112-disk-1@__base__`)),
    withEffect(clone, () => s.device('vm-113-disk-0')()),
  ]);
  t.is(await s.kernel.storage.createBase('tank:vm-112-disk-1'), 'tank:base-112-disk-1');
  t.deepEqual(s.runner.argvs, [
    ZfsCommands.rename(`${POOL}/vm-112-disk-1`, `${POOL}/base-112-disk-1`),
    ZfsCommands.snapshot(`${POOL}/base-112-disk-1@__base__`),
  ]);
  s.runner.calls.length = 0;
  t.is(await s.kernel.storage.cloneLinked('tank:base-110-disk-0', { vmid: 113 }), 'tank:base-110-disk-0/vm-113-disk-0');
  t.deepEqual(s.runner.argvs.at(-1), clone);
});

test('a rename that zfs-fuse calls busy even after unmount is retried; the renamed dataset is mounted again', async (t) => {
  const from = `${POOL}/vm-112-disk-1`;
  const to = `${POOL}/base-112-disk-1`;
  // The recorded zfs-fuse answer to a rename of a mounted dataset, for this dataset, twice.
  const busyStderr = zfsFixture('zfs-rename-mounted-busy.txt').replace(`${POOL}/subvol-103-disk-0`, from);
  const busy: ScriptedCommand = { match: ZfsCommands.rename(from, to), stderr: busyStderr, exitCode: 1, once: true };
  const s = await setup(t, [
    busy,
    { ...busy },
    ok(ZfsCommands.unmount(from)),
    ok(ZfsCommands.rename(from, to)),
    ok(ZfsCommands.mount(to)),
    ok(ZfsCommands.snapshot(`${to}@__base__`)),
  ]);
  t.is(await s.kernel.storage.createBase('tank:vm-112-disk-1'), 'tank:base-112-disk-1');
  t.deepEqual(s.runner.argvs, [
    ZfsCommands.rename(from, to),
    ZfsCommands.unmount(from),
    ZfsCommands.rename(from, to),
    ZfsCommands.unmount(from),
    ZfsCommands.rename(from, to),
    ZfsCommands.mount(to),
    ZfsCommands.snapshot(`${to}@__base__`),
  ]);
});

test('a rename that stays busy fails as ConflictError after 6 tries and mounts the old name again', async (t) => {
  const from = `${POOL}/vm-112-disk-1`;
  const to = `${POOL}/base-112-disk-1`;
  const busyStderr = zfsFixture('zfs-rename-mounted-busy.txt').replace(`${POOL}/subvol-103-disk-0`, from);
  const s = await setup(t, [
    { match: ZfsCommands.rename(from, to), stderr: busyStderr, exitCode: 1 },
    ok(ZfsCommands.unmount(from)),
    ok(ZfsCommands.mount(from)),
  ]);
  await t.throwsAsync(s.kernel.storage.createBase('tank:vm-112-disk-1'), { code: ErrorCodes.conflict, message: /tank:vm-112-disk-1 is busy/ });
  const renames = s.runner.argvs.filter((a: string[]) => a[1] === 'rename');
  t.is(renames.length, 6);
  t.deepEqual(s.runner.argvs.at(-1), ZfsCommands.mount(from));
});

test('a mount that zfs-fuse calls busy (right after an unmount) is retried before the subvol resolves', async (t) => {
  const ds = `${POOL}/subvol-100-disk-0`;
  const mountpoint = '/tmp/corral-zfsfx/mnt/subvol-100-disk-0';
  const notMounted = `${ds}\ttype\tfilesystem\n${ds}\tmounted\tno\n${ds}\tmountpoint\t${mountpoint}\n`;
  const s = await setup(t, [
    ok(ZfsCommands.get(['type', 'mounted', 'mountpoint'], [ds]), notMounted),
    { ...failed(ZfsCommands.mount(ds), 'zfs-mount-busy.txt'), once: true },
    ok(ZfsCommands.mount(ds)),
  ]);
  t.deepEqual(await s.kernel.storage.resolve('tank:subvol-100-disk-0', { consumer: 'container' }), { kind: 'directory', path: mountpoint });
  t.deepEqual(s.runner.argvs.filter((a: string[]) => a[1] === 'mount'), [ZfsCommands.mount(ds), ZfsCommands.mount(ds)], 'mounted on the second try, never unmounted in between');
  t.false(s.runner.argvs.some((a: string[]) => a[1] === 'unmount'));
});

test('raw+size export reads /dev/zvol/<pool>/<name> after a header with the volsize', async (t) => {
  const ds = `${POOL}/vm-112-disk-1`;
  const s = await setup(t, [ok(ZfsCommands.get(['type', 'volsize', 'refquota'], [ds]), zfsFixture('zvol/get-export-props.txt'))]);
  const bytes = Buffer.alloc(33 * MiB);
  bytes.fill(0xab, MiB, 2 * MiB);
  await writeFile(join(s.devRoot, POOL, 'vm-112-disk-1'), bytes);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await s.kernel.storage.exportVolume('tank:vm-112-disk-1', { format: 'raw+size', stream: out });
  const data = Buffer.concat(chunks);
  t.is(Number(data.readBigUInt64LE(0)), 33 * MiB);
  t.true(data.subarray(8).equals(bytes));
});

test('raw+size import: zfs create -V, writes the non-zero blocks into the device; a short stream destroys the zvol', async (t) => {
  let s!: Awaited<ReturnType<typeof setup>>;
  const missing = (name: string) => failed(ZfsCommands.get(['type'], [`${POOL}/${name}`]), 'driver-get-missing.txt');
  const create = (name: string) => ZfsCommands.createVolume(`${POOL}/${name}`, { sizeBytes: 2 * MiB, sparse: true, blocksize: '16k' });
  s = await setup(t, [
    missing('vm-114-disk-0'),
    withEffect(create('vm-114-disk-0'), () => s.device('vm-114-disk-0', 2 * MiB)()),
    missing('vm-115-disk-0'),
    withEffect(create('vm-115-disk-0'), () => s.device('vm-115-disk-0', 2 * MiB)()),
    ok(ZfsCommands.destroy(`${POOL}/vm-115-disk-0`, { recursive: true })),
  ]);
  const body = Buffer.alloc(2 * MiB - 4096);
  body.fill(0x42, 0, 4096);
  body.fill(0x43, MiB, MiB + 100);
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(body.length));
  const volid = await s.kernel.storage.importVolume({ storage: 'tank', vmid: 114, format: 'raw+size', stream: Readable.from([header, body]) });
  t.is(volid, 'tank:vm-114-disk-0');
  const dev = await readFile(join(s.devRoot, POOL, 'vm-114-disk-0'));
  t.true(dev.subarray(0, body.length).equals(body), 'the bytes landed in the device');

  const short = Readable.from([header, body.subarray(0, MiB)]);
  await t.throwsAsync(s.kernel.storage.importVolume({ storage: 'tank', vmid: 115, format: 'raw+size', stream: short }), { code: ErrorCodes.parse });
  const argvs = s.runner.argvs.map((a: string[]) => a.join(' '));
  const created = argvs.indexOf(create('vm-115-disk-0').join(' '));
  t.true(created >= 0, 'the zvol was created');
  t.true(argvs.indexOf(`zfs destroy -r ${POOL}/vm-115-disk-0`, created) > created, `undo: destroyed after its create (${JSON.stringify(argvs.slice(created))})`);
});

test("subvols on OpenZFS get Proxmox's -o acltype=posixacl -o xattr=sa (probed once), on zfs-fuse not", async (t) => {
  const probe = ZfsCommands.probeProperty('acltype', POOL);
  const openzfs = await setup(t, [
    ok(probe, zfsFixture('zvol/probe-acltype-openzfs.txt')),
    ok(['zfs', 'create', '-o', 'acltype=posixacl', '-o', 'xattr=sa', '-o', `refquota=${8 * MiB}`, `${POOL}/subvol-130-disk-0`]),
    ok(['zfs', 'create', '-o', 'acltype=posixacl', '-o', 'xattr=sa', '-o', 'refquota=none', `${POOL}/subvol-130-disk-1`]),
  ]);
  await openzfs.kernel.storage.allocate({ storage: 'tank', vmid: 130, sizeBytes: 8 * MiB, format: 'subvol', content: 'rootdir' });
  await openzfs.kernel.storage.allocate({ storage: 'tank', vmid: 130, sizeBytes: 0, format: 'subvol', content: 'rootdir', name: 'subvol-130-disk-1' });
  t.is(openzfs.runner.argvs.filter((a: string[]) => a.join(' ') === probe.join(' ')).length, 1, 'probed once');

  const fuse = await setup(t, [failed(probe, 'driver-probe-acltype-failure.txt', 2), ok(['zfs', 'create', '-o', `refquota=${8 * MiB}`, `${POOL}/subvol-130-disk-0`])]);
  t.is(await fuse.kernel.storage.allocate({ storage: 'tank', vmid: 130, sizeBytes: 8 * MiB, format: 'subvol', content: 'rootdir' }), 'tank:subvol-130-disk-0');
});

test('free: zfs destroy -r; a missing volume is NotFoundError (recorded zfs-fuse answer)', async (t) => {
  const s = await setup(t, [
    ok(ZfsCommands.destroy(`${POOL}/vm-112-disk-1`, { recursive: true })),
    failed(ZfsCommands.destroy(`${POOL}/vm-999-disk-0`, { recursive: true }), 'driver-destroy-missing.txt'),
  ]);
  await s.kernel.storage.free('tank:vm-112-disk-1');
  await t.throwsAsync(s.kernel.storage.free('tank:vm-999-disk-0'), { code: ErrorCodes.notFound });
});

test('a sparse storage is thin (infoFor): a zvol bigger than the pool is created; without sparse it is StorageFullError before zfs runs', async (t) => {
  const big = 1024 * 1024 * MiB;
  const create = ZfsCommands.createVolume(`${POOL}/vm-130-disk-0`, { sizeBytes: big, sparse: true, blocksize: '16k' });
  let s!: Awaited<ReturnType<typeof setup>>;
  s = await setup(t, [withEffect(create, () => s.device('vm-130-disk-0')())]);
  t.true(await s.kernel.storage.hasFeature('tank:vm-112-disk-1', 'sparseinit'));
  t.is(await s.kernel.storage.allocate({ storage: 'tank', vmid: 130, sizeBytes: big }), 'tank:vm-130-disk-0', '1 TiB on a 214 MiB pool: sparse');
  t.false(s.runner.argvs.some((a) => a.includes('available')), 'no free-space check on a thin storage');

  await s.kernel.storage.update('tank', { sparse: '0' }, { caller: ROOT_CALLER });
  s.runner.calls.length = 0;
  await t.throwsAsync(s.kernel.storage.allocate({ storage: 'tank', vmid: 131, sizeBytes: big }), { code: ErrorCodes.storageFull });
  t.false(s.runner.argvs.some((a) => a[1] === 'create'), 'nothing was created');
});
