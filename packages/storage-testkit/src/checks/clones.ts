import { ErrorCodes, type VolumeFormat, type VolumeInfo } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { MiB } from '../volumeBytes.js';
import { VolumeMarks } from '../volumeMarks.js';
import { assertSize, nameOf, notApplicable, volnameOf } from './allocation.js';

/** The formats whose templates and clones are tested: tested image formats, and subvol when tested. */
function cloneFormats(env: ConformanceEnv): VolumeFormat[] {
  return [...env.imageFormats, ...(env.subvolTested ? (['subvol'] as const) : [])];
}

/** Sizes are checked for images, and for subvols only where the driver sizes them. */
function checkSize(env: ConformanceEnv, m: VolumeMarks, info: VolumeInfo, what: string): void {
  if (!m.isSubvol) assertSize(env, info, 8 * MiB, what);
  else if (env.subvolSized) env.t.is(info.sizeBytes, 0, `${what}: a subvol allocated without a size reports 0`);
}

/**
 * Templates and linked clones, of images and of container volumes (subvols): `createBase`
 * makes a base that still holds the data; a linked clone starts with the base's data, its
 * `parent` is the base's volid, writing it leaves the base alone, a base with clones cannot be
 * freed (ConflictError). A full copy of a base (where `copy.base` is declared) is an ordinary,
 * independent volume. Clones of snapshots where `clone.snapshot` is declared. A base without
 * `clone.base` refuses linked clones naming the capability.
 */
export async function checkTemplateClone(env: ConformanceEnv): Promise<void> {
  const { t, storage } = env;
  const formats = cloneFormats(env).filter((f) => env.has('template', 'current', f));
  const fromSnapshot = cloneFormats(env).filter((f) => env.has('clone', 'snapshot', f) && env.has('snapshot', 'current', f));
  if (formats.length === 0 && fromSnapshot.length === 0) {
    return notApplicable(env, 'no tested format declares template or clone from a snapshot', true);
  }
  for (const format of formats) {
    const m = new VolumeMarks(env, format);
    const vmid = env.vmid();
    const volid = await m.allocate(vmid);
    await m.write(volid, 0x11);

    const base = await storage.createBase(volid);
    const baseName = nameOf(base);
    t.regex(baseName, new RegExp(`-${vmid}-disk-0\\b`), `${format}: base keeps the disk name (${base})`);
    t.regex(baseName.slice(0, baseName.indexOf('-')), m.basePrefix, `${format}: base is named ${m.basePrefix.source}-${vmid}-disk-0 (${base})`);
    const parsed = await storage.parse(base);
    t.true(parsed.isBase, `${format}: parse(${base}).isBase`);
    t.is(parsed.vmid, vmid);
    const info = await storage.volumeInfo(base);
    t.true(info.isBase, `${format}: volumeInfo.isBase`);
    checkSize(env, m, info, `${format} base`);
    if (base !== volid) await t.throwsAsync(storage.volumeInfo(volid), { code: ErrorCodes.notFound }, `${format}: the old name is gone`);
    t.is(await storage.createBase(base), base, `${format}: createBase of a base is the base`);
    t.true(await m.holds(base, 0x11), `${format}: base keeps the data`);

    if (env.has('copy', 'base', format)) {
      const copy = await storage.copy(base, { targetStorage: env.sid, vmid: env.vmid() });
      const cinfo = await storage.volumeInfo(copy);
      t.false(cinfo.isBase, `${format}: a full copy of a base is not a base (${copy})`);
      t.is(cinfo.parent, undefined, `${format}: a full copy of a base has no parent`);
      t.regex(nameOf(copy), new RegExp(`^${m.prefix}-${cinfo.vmid}-disk-0\\b`), `${format}: a copy of a base takes a ${m.prefix}- name`);
      t.true(await m.holds(copy, 0x11), `${format}: a full copy of a base has its data`);
      await m.write(copy, 0x12);
      t.true(await m.holds(base, 0x11), `${format}: writing the copy of a base leaves the base unchanged`);
      await storage.free(copy);
    }

    if (!env.has('clone', 'base', format)) {
      await env.assertRefused(() => storage.cloneLinked(base, { vmid: env.vmid() }), { feature: 'clone', state: 'base', format, method: 'cloneLinked', volname: volnameOf(base) });
      await storage.free(base);
      continue;
    }
    const cloneVmid = env.vmid();
    const clone = await storage.cloneLinked(base, { vmid: cloneVmid });
    t.regex(nameOf(clone), new RegExp(`^${m.prefix}-${cloneVmid}-disk-0\\b`), `${format}: clone is named ${m.prefix}-${cloneVmid}-disk-0 (${clone})`);
    const cinfo = await storage.volumeInfo(clone);
    t.is(cinfo.vmid, cloneVmid, 'clone belongs to the new guest');
    t.false(cinfo.isBase, 'a clone is not a base');
    t.is(cinfo.parent, base, `${format}: clone's parent is the base volid`);
    t.is((await storage.parse(clone)).vmid, cloneVmid, `${format}: the clone's volname carries the new guest id`);
    checkSize(env, m, cinfo, `${format} clone`);
    t.truthy((await storage.listVolumes(env.sid, { vmid: cloneVmid })).find((v) => v.volid === clone), 'clone is listed under its guest');
    t.deepEqual(await storage.linkedClones(base), [clone], `${format}: linkedClones(base) lists the clone`);

    t.true(await m.holds(clone, 0x11), `${format}: clone starts with the base's data`);
    await m.write(clone, 0x22);
    t.true(await m.holds(clone, 0x22), `${format}: clone takes writes`);
    t.true(await m.holds(base, 0x11), `${format}: writing the clone leaves the base unchanged`);

    const second = await storage.cloneLinked(base, { vmid: cloneVmid });
    t.regex(nameOf(second), new RegExp(`^${m.prefix}-${cloneVmid}-disk-1\\b`), `${format}: second clone takes the next free name (${second})`);
    t.true(await m.holds(second, 0x11), `${format}: second clone is independent of the first`);

    await t.throwsAsync(storage.free(base), { code: ErrorCodes.conflict }, `${format}: a base with linked clones cannot be freed`);
    t.is((await storage.volumeInfo(base)).volid, base, 'base survives the refused free');
    await storage.free(clone);
    await storage.free(second);
    await storage.free(base);
  }

  for (const format of fromSnapshot) {
    const m = new VolumeMarks(env, format);
    const volid = await m.allocate();
    await m.write(volid, 0x33);
    await storage.snapshotCreate(volid, 'snap1');
    await m.write(volid, 0x44);
    const cloneVmid = env.vmid();
    const clone = await storage.cloneLinked(volid, { vmid: cloneVmid, snapshot: 'snap1' });
    t.regex(nameOf(clone), new RegExp(`^${m.prefix}-${cloneVmid}-disk-0\\b`), `${format}: clone of a snapshot is named ${m.prefix}-${cloneVmid}-disk-0 (${clone})`);
    t.true(await m.holds(clone, 0x33), `${format}: clone of a snapshot has the snapshot's data`);
    t.true(await m.holds(volid, 0x44), `${format}: the source keeps its current data`);
    await storage.free(clone);
    await storage.snapshotDelete(volid, 'snap1').catch(() => undefined);
    await storage.free(volid);
  }
  await env.assertClean();
}
