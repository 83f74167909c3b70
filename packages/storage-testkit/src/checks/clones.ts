import { ErrorCodes } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { hasPattern, MiB, writePattern } from '../volumeBytes.js';
import { assertSize, nameOf, notApplicable } from './allocation.js';

/**
 * Templates and linked clones: `createBase` makes a base that still holds the bytes; a linked
 * clone starts with the base's bytes, writing it leaves the base alone, a base with clones
 * cannot be freed (ConflictError). Clones of snapshots where `clone.snapshot` allows it.
 */
export async function checkTemplateClone(env: ConformanceEnv): Promise<void> {
  const { t, storage } = env;
  const formats = env.imageFormats.filter((f) => env.has('template', 'current', f));
  if (formats.length === 0) return notApplicable(env, 'no tested image format has the template feature', true);
  for (const format of formats) {
    const vmid = env.vmid();
    const volid = await env.allocImage(format, { vmid, sizeBytes: 8 * MiB });
    const a = { offset: 0, length: MiB, byte: 0x11 };
    let access = await env.access(volid);
    await writePattern(env.runner, access, a);
    await env.release(volid);

    const base = await storage.createBase(volid);
    t.regex(nameOf(base), new RegExp(`^base-${vmid}-disk-0\\b`), `${format}: base is named base-${vmid}-disk-0 (${base})`);
    const parsed = await storage.parse(base);
    t.true(parsed.isBase, `${format}: parse(${base}).isBase`);
    t.is(parsed.vmid, vmid);
    const info = await storage.volumeInfo(base);
    t.true(info.isBase, `${format}: volumeInfo.isBase`);
    assertSize(env, info, 8 * MiB, `${format} base`);
    if (base !== volid) await t.throwsAsync(storage.volumeInfo(volid), { code: ErrorCodes.notFound }, `${format}: the old name is gone`);
    t.is(await storage.createBase(base), base, `${format}: createBase of a base is the base`);
    access = await env.access(base);
    t.true(await hasPattern(env.runner, access, a), `${format}: base keeps the bytes`);
    await env.release(base);

    if (!env.has('clone', 'base', format)) {
      await t.throwsAsync(storage.cloneLinked(base, { vmid: env.vmid() }), { code: ErrorCodes.notSupported }, `${format}: no clone feature`);
      await storage.free(base);
      continue;
    }
    const cloneVmid = env.vmid();
    const clone = await storage.cloneLinked(base, { vmid: cloneVmid });
    t.regex(nameOf(clone), new RegExp(`^vm-${cloneVmid}-disk-0\\b`), `${format}: clone is named vm-${cloneVmid}-disk-0 (${clone})`);
    const cinfo = await storage.volumeInfo(clone);
    t.is(cinfo.vmid, cloneVmid, 'clone belongs to the new guest');
    t.false(cinfo.isBase, 'a clone is not a base');
    t.is(cinfo.parent, base, `${format}: clone's parent is the base volid`);
    assertSize(env, cinfo, 8 * MiB, `${format} clone`);
    t.truthy((await storage.listVolumes(env.sid, { vmid: cloneVmid })).find((v) => v.volid === clone), 'clone is listed under its guest');

    access = await env.access(clone);
    t.true(await hasPattern(env.runner, access, a), `${format}: clone starts with the base's bytes`);
    const b = { offset: 0, length: MiB, byte: 0x22 };
    await writePattern(env.runner, access, b);
    t.true(await hasPattern(env.runner, access, b), `${format}: clone takes writes`);
    await env.release(clone);
    access = await env.access(base);
    t.true(await hasPattern(env.runner, access, a), `${format}: writing the clone leaves the base unchanged`);
    await env.release(base);

    const second = await storage.cloneLinked(base, { vmid: cloneVmid });
    t.regex(nameOf(second), new RegExp(`^vm-${cloneVmid}-disk-1\\b`), `${format}: second clone takes the next free name (${second})`);
    access = await env.access(second);
    t.true(await hasPattern(env.runner, access, a), `${format}: second clone is independent of the first`);
    await env.release(second);

    await t.throwsAsync(storage.free(base), { code: ErrorCodes.conflict }, `${format}: a base with linked clones cannot be freed`);
    t.is((await storage.volumeInfo(base)).volid, base, 'base survives the refused free');
    await storage.free(clone);
    await storage.free(second);
    await storage.free(base);
  }

  for (const format of env.imageFormats.filter((f) => env.has('clone', 'snapshot', f) && env.has('snapshot', 'current', f))) {
    const volid = await env.allocImage(format, { sizeBytes: 8 * MiB });
    let access = await env.access(volid);
    await writePattern(env.runner, access, { offset: 0, length: MiB, byte: 0x33 });
    await env.release(volid);
    await storage.snapshotCreate(volid, 'snap1');
    access = await env.access(volid);
    await writePattern(env.runner, access, { offset: 0, length: MiB, byte: 0x44 });
    await env.release(volid);
    const clone = await storage.cloneLinked(volid, { vmid: env.vmid(), snapshot: 'snap1' });
    access = await env.access(clone);
    t.true(await hasPattern(env.runner, access, { offset: 0, length: MiB, byte: 0x33 }), `${format}: clone of a snapshot has the snapshot's bytes`);
    await env.release(clone);
    await storage.free(clone);
    await storage.snapshotDelete(volid, 'snap1').catch(() => undefined);
    await storage.free(volid);
  }
  await env.assertClean();
}
