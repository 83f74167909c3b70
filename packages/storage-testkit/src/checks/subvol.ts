import { ErrorCodes } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { readMarkerFile, writeMarkerFile } from '../volumeBytes.js';
import { nameOf, notApplicable } from './allocation.js';

/**
 * Container rootfs directories (format `subvol`, content `rootdir`): Proxmox names, the
 * quota as size, a directory to write into, listing, snapshot/rollback of the files where
 * the driver has it, copies, and free removing the tree.
 */
export async function checkSubvol(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid } = env;
  if (!env.subvolTested) {
    return notApplicable(env, 'format subvol is not tested or content rootdir is off', !env.formats.includes('subvol') || !env.def.content.includes('rootdir'));
  }
  const vmid = env.vmid();
  const quota = 64 * 1024 * 1024;
  const volid = await storage.allocate({ storage: sid, vmid, sizeBytes: 0, format: 'subvol', content: 'rootdir' });
  t.regex(nameOf(volid), new RegExp(`^subvol-${vmid}-disk-0\\b`), `subvol is named subvol-${vmid}-disk-0 (${volid})`);
  const withQuota = await storage.allocate({ storage: sid, vmid, sizeBytes: quota, format: 'subvol', content: 'rootdir' });
  t.regex(nameOf(withQuota), new RegExp(`^subvol-${vmid}-disk-1\\b`), `second subvol is subvol-${vmid}-disk-1 (${withQuota})`);

  const info = await storage.volumeInfo(volid);
  t.is(info.format, 'subvol');
  t.is(info.content, 'rootdir', 'a subvol is rootdir content');
  t.is(info.vmid, vmid);
  t.is(info.sizeBytes, 0, 'a subvol without quota has size 0');
  t.is((await storage.volumeInfo(withQuota)).sizeBytes, quota, 'a subvol reports its quota as size');
  const listed = await storage.listVolumes(sid, { content: 'rootdir', vmid });
  t.deepEqual(listed.map((v) => v.volid).sort(), [volid, withQuota].sort(), 'list content=rootdir has the subvols');
  t.false((await storage.listVolumes(sid, { content: 'images', vmid })).some((v) => v.volid === volid), 'list content=images has no subvols');

  const access = await env.access(volid, 'container');
  t.is(access.kind, 'directory', 'a subvol resolves to a directory for containers');
  await writeMarkerFile(access, 'etc/hostname', 'first\n');
  t.is(await readMarkerFile(access, 'etc/hostname'), 'first\n', 'files written into the subvol read back');
  await env.release(volid);

  if (env.has('snapshot', 'current', 'subvol')) {
    await storage.snapshotCreate(volid, 'snap1');
    t.truthy((await storage.snapshotList(volid)).find((s) => s.name === 'snap1'), 'subvol snapshot is listed');
    const again = await env.access(volid, 'container');
    await writeMarkerFile(again, 'etc/hostname', 'second\n');
    await writeMarkerFile(again, 'new-file', 'x');
    await env.release(volid);
    if (env.has('rollback', 'snapshot', 'subvol')) {
      await storage.snapshotRollback(volid, 'snap1');
      const back = await env.access(volid, 'container');
      t.is(await readMarkerFile(back, 'etc/hostname'), 'first\n', 'rollback restores file contents');
      t.is(await readMarkerFile(back, 'new-file'), undefined, 'rollback removes files created after the snapshot');
      await env.release(volid);
    }
    await storage.snapshotDelete(volid, 'snap1');
    t.false((await storage.snapshotList(volid)).some((s) => s.name === 'snap1'), 'deleted subvol snapshot is gone');
  } else {
    await t.throwsAsync(storage.snapshotCreate(volid, 'snap1'), { code: ErrorCodes.notSupported }, 'subvol snapshots are refused when the feature is missing');
  }

  const copy = await storage.copy(volid, { targetStorage: sid, vmid: env.vmid() });
  const copied = await env.access(copy, 'container');
  t.truthy(await readMarkerFile(copied, 'etc/hostname'), 'a copied subvol has the files');
  await env.release(copy);
  await storage.free(copy);

  for (const v of [volid, withQuota]) await storage.free(v);
  await t.throwsAsync(storage.resolve(volid, { consumer: 'container' }), { code: ErrorCodes.notFound }, 'a freed subvol is gone');
  await env.assertClean();
}
