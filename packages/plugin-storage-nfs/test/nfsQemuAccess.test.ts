import test from 'ava';
import { ROOT_CALLER, type VolumeAccess } from '@corral/core';
import { createTestKernel, runTool, runToolOk } from '@corral/core/testing';
import { createStorageNfsPlugin } from '../src/index.js';
import { nfsStandInMounter } from './support/nfsStandIn.js';
import { ganeshaRealTest, useGaneshaServer } from './support/ganeshaFixture.js';

// Real: nfs-ganesha on 127.0.0.1 serves the storage's directory; QEMU, qemu-img, qemu-io and
// nfs-ls reach the volumes through libnfs (no kernel mount: see the README).
const nfs = useGaneshaServer(test);
const nfsTest = ganeshaRealTest(test);
const MiB = 1024 * 1024;

async function nfsKernel(t: Parameters<typeof createTestKernel>[0]) {
  const server = nfs();
  const kernel = await createTestKernel(t, {
    plugins: [createStorageNfsPlugin({ mounter: nfsStandInMounter() })],
  });
  await kernel.storage.add(
    'nas',
    'nfs',
    {
      server: server.server,
      export: server.exportDir,
      path: server.exportDir,
      content: 'images,iso',
    },
    { caller: ROOT_CALLER }
  );
  return { kernel, server };
}

function qemuAccess(access: VolumeAccess): Extract<VolumeAccess, { kind: 'qemu' }> {
  if (access.kind !== 'qemu') throw new Error(`expected a qemu access, got ${access.kind}`);
  return access;
}

/** `json:{...}` of a format node over the access's protocol node, for qemu-img/qemu-io. */
function jsonTarget(access: Extract<VolumeAccess, { kind: 'qemu' }>): string {
  return `json:${JSON.stringify({
    driver: access.format,
    file: access.blockdev,
  })}`;
}

nfsTest.serial('a VM disk resolves to an nfs blockdev; qemu-img and qemu-io open it through ganesha and the bytes land in the export', async (t) => {
  const { kernel, server } = await nfsKernel(t);
  const volid = await kernel.storage.allocate({
    storage: 'nas',
    vmid: 9301,
    sizeBytes: 16 * MiB,
    format: 'qcow2',
  });
  t.teardown(() => kernel.storage.free(volid).catch(() => undefined));
  const access = qemuAccess(await kernel.storage.resolve(volid, { consumer: 'qemu' }));
  const path = `${server.exportDir}/images/9301/vm-9301-disk-0.qcow2`;
  t.deepEqual(access.blockdev, {
    driver: 'nfs',
    server: { type: 'inet', host: '127.0.0.1' },
    path,
  });
  t.is(access.url, `nfs://127.0.0.1${path}`);
  t.is(access.format, 'qcow2');

  const info = JSON.parse((await runToolOk(['qemu-img', 'info', '--output=json', access.url])).stdout) as {
    'virtual-size': number;
    format: string;
    filename: string;
  };
  t.is(info['virtual-size'], 16 * MiB);
  t.is(info.format, 'qcow2');
  t.true(info.filename.startsWith('nfs://127.0.0.1/'), info.filename);

  await runToolOk(['qemu-io', '-c', 'write -P 0x6e 1M 1M', jsonTarget(access)]);
  const local = await runTool(['qemu-io', '-r', '-f', 'qcow2', '-c', 'read -P 0x6e 1M 1M', path]);
  t.is(local.exitCode, 0, local.stderr);
  t.notRegex(local.stdout, /fail/i, 'the bytes written through NFS are in the exported file');

  const ls = await runToolOk(['nfs-ls', `nfs://127.0.0.1${server.exportDir}/images/9301/`]);
  t.regex(ls.stdout, /vm-9301-disk-0\.qcow2/);
  const host = await kernel.storage.resolve(volid, { consumer: 'host' });
  t.deepEqual(host, { kind: 'file', path, format: 'qcow2' }, 'host consumers get the file on the mount point');
});

nfsTest.serial('a linked clone resolves for QEMU to the file on the mount, because libnfs cannot follow its relative backing file', async (t) => {
  const { kernel, server } = await nfsKernel(t);
  const vol = await kernel.storage.allocate({
    storage: 'nas',
    vmid: 9302,
    sizeBytes: 4 * MiB,
    format: 'raw',
  });
  const raw = qemuAccess(await kernel.storage.resolve(vol, { consumer: 'qemu' }));
  t.is(raw.format, 'raw');
  await runToolOk(['qemu-io', '-f', 'raw', '-c', 'write -P 0x42 0 1M', raw.url]);
  const base = await kernel.storage.createBase(vol);
  const clone = await kernel.storage.cloneLinked(base, { vmid: 9303 });
  t.teardown(async () => {
    await kernel.storage.free(clone).catch(() => undefined);
    await kernel.storage.free(base).catch(() => undefined);
  });
  t.is(clone, 'nas:9302/base-9302-disk-0.raw/9303/vm-9303-disk-0.qcow2');
  const path = `${server.exportDir}/images/9303/vm-9303-disk-0.qcow2`;
  t.deepEqual(await kernel.storage.resolve(clone, { consumer: 'qemu' }), {
    kind: 'file',
    path,
    format: 'qcow2',
  });
  const info = JSON.parse((await runToolOk(['qemu-img', 'info', '--output=json', path])).stdout) as { 'backing-filename': string };
  t.is(info['backing-filename'], '../9302/base-9302-disk-0.raw', "Proxmox's relative backing file");
  const read = await runTool(['qemu-io', '-r', '-f', 'qcow2', '-c', 'read -P 0x42 0 1M', path]);
  t.is(read.exitCode, 0, read.stderr);
  t.notRegex(read.stdout, /fail/i, "the clone shows the base's bytes");
  // Why not nfs://: QEMU mounts '<export>/images/9303/..' for the backing file, which ganesha refuses.
  const viaNfs = await runTool(['qemu-io', '-r', '-f', 'qcow2', '-c', 'read 0 512', `nfs://127.0.0.1${path}`]);
  t.not(viaNfs.exitCode, 0);
  t.regex(viaNfs.stderr, /backing file.*MNT3ERR_ACCES/);
});

nfsTest.serial('QEMU started with -S opens the disk from its -blockdev nfs node', async (t) => {
  const { kernel } = await nfsKernel(t);
  const volid = await kernel.storage.allocate({
    storage: 'nas',
    vmid: 9304,
    sizeBytes: 8 * MiB,
    format: 'qcow2',
  });
  t.teardown(() => kernel.storage.free(volid).catch(() => undefined));
  const access = qemuAccess(await kernel.storage.resolve(volid, { consumer: 'qemu' }));
  const qmp = ['{"execute":"qmp_capabilities"}', '{"execute":"query-named-block-nodes","arguments":{"flat":true}}', '{"execute":"quit"}', ''].join('\n');
  const res = await runTool(
    [
      'qemu-system-x86_64',
      '-S',
      '-nodefaults',
      '-display',
      'none',
      '-machine',
      'none',
      '-blockdev',
      JSON.stringify({ 'node-name': 'proto0', ...access.blockdev }),
      '-blockdev',
      JSON.stringify({
        'node-name': 'disk0',
        driver: access.format,
        file: 'proto0',
      }),
      '-qmp',
      'stdio',
    ],
    { input: qmp, timeoutMs: 120_000 }
  );
  t.is(res.exitCode, 0, res.stderr);
  const nodes = res.stdout
    .split('\n')
    .filter((l) => l.includes('"return": ['))
    .flatMap(
      (l) =>
        (
          JSON.parse(l) as {
            return: Array<{ 'node-name': string; drv: string; file: string }>;
          }
        ).return
    );
  const proto = nodes.find((n) => n['node-name'] === 'proto0');
  t.is(proto?.drv, 'nfs');
  t.is(proto?.file, access.url);
  t.is(nodes.find((n) => n['node-name'] === 'disk0')?.drv, 'qcow2');
});
