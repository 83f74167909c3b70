import { ErrorCodes } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { MiB, readMarkerFile, writeMarkerFile } from '../volumeBytes.js';
import { nameOf, notApplicable, volnameOf } from './allocation.js';

/**
 * Container rootfs directories (format `subvol`, content `rootdir`): Proxmox names, a
 * directory to write into, listing, snapshot/rollback of the files where the driver has it,
 * copies (of snapshots too where `copy.snapshot` is declared), and free removing the tree.
 * Sizes (the quota) are checked only where the record declares `resize` for `subvol`
 * ({@link ConformanceEnv.subvolSized}): a container volume is never assumed to have a size.
 */
export async function checkSubvol(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid } = env;
  if (!env.subvolTested) {
    return notApplicable(env, 'format subvol is not tested or content rootdir is off', !env.formats.includes('subvol') || !env.def.content.includes('rootdir'));
  }
  const vmid = env.vmid();
  const quota = 64 * MiB;
  const volid = await storage.allocate({ storage: sid, vmid, sizeBytes: 0, format: 'subvol', content: 'rootdir' });
  t.regex(nameOf(volid), new RegExp(`^subvol-${vmid}-disk-0\\b`), `subvol is named subvol-${vmid}-disk-0 (${volid})`);
  const second = await storage.allocate({ storage: sid, vmid, sizeBytes: env.subvolSized ? quota : 0, format: 'subvol', content: 'rootdir' });
  t.regex(nameOf(second), new RegExp(`^subvol-${vmid}-disk-1\\b`), `second subvol is subvol-${vmid}-disk-1 (${second})`);

  const info = await storage.volumeInfo(volid);
  t.is(info.format, 'subvol');
  t.is(info.content, 'rootdir', 'a subvol is rootdir content');
  t.is(info.vmid, vmid);
  t.true(Number.isSafeInteger(info.sizeBytes) && info.sizeBytes >= 0, `a subvol's size is a byte count (got ${info.sizeBytes})`);
  if (env.subvolSized) {
    t.is(info.sizeBytes, 0, 'a subvol without quota has size 0');
    t.is((await storage.volumeInfo(second)).sizeBytes, quota, 'a subvol reports its quota as size');
    await storage.resize(second, { sizeBytes: 2 * quota });
    t.is((await storage.volumeInfo(second)).sizeBytes, 2 * quota, 'resize grows the quota of a subvol');
  } else {
    t.log("not checked: subvol sizes (the record declares no 'resize' for subvol)");
    await env.assertRefused(() => storage.resize(volid, { sizeBytes: quota }), { feature: 'resize', state: 'current', format: 'subvol', method: 'resize', volname: volnameOf(volid) });
  }
  const listed = await storage.listVolumes(sid, { content: 'rootdir', vmid });
  t.deepEqual(listed.map((v) => v.volid).sort(), [volid, second].sort(), 'list content=rootdir has the subvols');
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
    if (env.has('copy', 'snapshot', 'subvol')) {
      const fromSnap = await storage.copy(volid, { targetStorage: sid, vmid: env.vmid(), snapshot: 'snap1' });
      const copied = await env.access(fromSnap, 'container');
      t.is(await readMarkerFile(copied, 'etc/hostname'), 'first\n', "a copy of a subvol snapshot has the snapshot's files");
      t.is(await readMarkerFile(copied, 'new-file'), undefined, 'and not the files created after it');
      await env.release(fromSnap);
      await storage.free(fromSnap);
    }
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
    await env.assertRefused(() => storage.snapshotCreate(volid, 'snap1'), { feature: 'snapshot', state: 'current', format: 'subvol', method: 'snapshotCreate', volname: volnameOf(volid) });
  }

  if (env.has('copy', 'current', 'subvol')) {
    const expected = await readMarkerFile(await env.access(volid, 'container'), 'etc/hostname');
    await env.release(volid);
    const copy = await storage.copy(volid, { targetStorage: sid, vmid: env.vmid() });
    t.regex(nameOf(copy), /^subvol-\d+-disk-0\b/, `a copied subvol is a subvol (${copy})`);
    const copied = await env.access(copy, 'container');
    t.is(await readMarkerFile(copied, 'etc/hostname'), expected, 'a copied subvol has the files');
    await writeMarkerFile(copied, 'etc/hostname', 'changed\n');
    await env.release(copy);
    t.is(await readMarkerFile(await env.access(volid, 'container'), 'etc/hostname'), expected, 'writing the copy leaves the source alone');
    await env.release(volid);
    await storage.free(copy);
  }

  for (const v of [volid, second]) await storage.free(v);
  await t.throwsAsync(storage.resolve(volid, { consumer: 'container' }), { code: ErrorCodes.notFound }, 'a freed subvol is gone');
  await env.assertClean();
}
