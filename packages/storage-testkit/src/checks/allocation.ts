import { ErrorCodes, type VolumeFormat, type VolumeInfo } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { hasPattern, MiB, writePattern } from '../volumeBytes.js';

/** The last path segment of a volid's volume name (`vm-100-disk-0.raw`). */
export function nameOf(volid: string): string {
  const volname = volid.slice(volid.indexOf(':') + 1);
  return volname.slice(volname.lastIndexOf('/') + 1);
}

/** The volume name part of a volid. */
export function volnameOf(volid: string): string {
  return volid.slice(volid.indexOf(':') + 1);
}

/** Asserts `info.sizeBytes` is `expected` up to the allowed rounding. */
export function assertSize(env: ConformanceEnv, info: VolumeInfo, expected: number, what: string): void {
  env.t.true(
    info.sizeBytes >= expected && info.sizeBytes <= expected + env.slack,
    `${what}: size ${info.sizeBytes} should be ${expected} (+ at most ${env.slack} rounding)`,
  );
}

/** Logs and asserts that a check has nothing to run on this driver/storage, naming why. */
export function notApplicable(env: ConformanceEnv, why: string, condition: boolean): void {
  env.t.log(`not applicable: ${why}`);
  env.t.true(condition, `not applicable: ${why}`);
}

/** Allocation of every image format: Proxmox names, explicit names, sizes, formats, access. */
export async function checkAllocate(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid } = env;
  if (env.imageFormats.length === 0) return notApplicable(env, 'no image format is tested or content images is off', true);
  for (const format of env.imageFormats) {
    const vmid = env.vmid();
    const a = await env.allocImage(format, { vmid, sizeBytes: 8 * MiB });
    const b = await env.allocImage(format, { vmid, sizeBytes: 12 * MiB });
    t.true(a.startsWith(`${sid}:`), `volid ${a} starts with the storage id`);
    t.regex(nameOf(a), new RegExp(`^vm-${vmid}-disk-0\\b`), `${format}: first disk is vm-${vmid}-disk-0 (${a})`);
    t.regex(nameOf(b), new RegExp(`^vm-${vmid}-disk-1\\b`), `${format}: second disk is vm-${vmid}-disk-1 (${b})`);
    const explicit = await env.allocImage(format, { vmid, name: `vm-${vmid}-disk-7` });
    t.regex(nameOf(explicit), new RegExp(`^vm-${vmid}-disk-7\\b`), `${format}: explicit name is kept (${explicit})`);
    await t.throwsAsync(env.allocImage(format, { vmid, name: `vm-${vmid}-disk-7` }), { code: ErrorCodes.alreadyExists }, `${format}: a taken name`);

    const parsed = await storage.parse(a);
    t.is(parsed.content, 'images');
    t.is(parsed.vmid, vmid);
    t.is(parsed.format, format);
    t.false(parsed.isBase);
    t.is(parsed.storage, sid);

    const infoA = await storage.volumeInfo(a);
    t.is(infoA.volid, a, 'volumeInfo.volid');
    t.is(infoA.format, format, 'volumeInfo.format');
    t.is(infoA.vmid, vmid, 'volumeInfo.vmid');
    t.is(infoA.content, 'images', 'volumeInfo.content');
    t.false(infoA.isBase, 'volumeInfo.isBase');
    assertSize(env, infoA, 8 * MiB, `${format} ${a}`);
    assertSize(env, await storage.volumeInfo(b), 12 * MiB, `${format} ${b}`);

    const access = await env.access(a);
    t.not(access.kind, 'directory', `${format}: an image does not resolve to a directory`);
    await writePattern(env.runner, access, { offset: MiB, length: MiB, byte: 0x5a });
    t.true(await hasPattern(env.runner, access, { offset: MiB, length: MiB, byte: 0x5a }), `${format}: bytes written through resolve() read back`);
    t.true(await hasPattern(env.runner, access, { offset: 4 * MiB, length: MiB, byte: 0 }), `${format}: a new volume reads zeros`);
    await env.release(a);

    for (const v of [a, b, explicit]) await storage.free(v);
    await t.throwsAsync(storage.volumeInfo(a), { code: ErrorCodes.notFound }, `${format}: freed volume is gone`);
  }
  await t.throwsAsync(
    storage.allocate({ storage: sid, vmid: env.vmid(), sizeBytes: 0, format: env.defaultImageFormat }),
    { code: ErrorCodes.invalidArgument },
    'size 0 for an image',
  );
  await env.assertClean();
}

/** Listing by guest and by content, sorted by volname. */
export async function checkList(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid } = env;
  const format = env.defaultImageFormat;
  if (!format) return notApplicable(env, 'no image format is tested', env.imageFormats.length === 0);
  const [vmA, vmB] = [env.vmid(), env.vmid()];
  const a0 = await env.allocImage(format, { vmid: vmA });
  const a1 = await env.allocImage(format, { vmid: vmA });
  const b0 = await env.allocImage(format, { vmid: vmB, sizeBytes: 4 * MiB });

  const listA = await storage.listVolumes(sid, { vmid: vmA });
  t.deepEqual(listA.map((v) => v.volid).sort(), [a0, a1].sort(), `list vmid ${vmA}`);
  const volnames = listA.map((v) => v.volname);
  t.deepEqual(volnames, [...volnames].sort(), 'listing is sorted by volname');
  const listB = await storage.listVolumes(sid, { vmid: vmB });
  t.deepEqual(listB.map((v) => v.volid), [b0], `list vmid ${vmB}`);
  const entry = listB[0]!;
  t.is(entry.format, format);
  t.is(entry.vmid, vmB);
  t.is(entry.content, 'images');
  t.is(entry.volname, b0.slice(sid.length + 1));
  assertSize(env, entry, 4 * MiB, 'listed size');

  const images = await storage.listVolumes(sid, { content: 'images' });
  for (const v of [a0, a1, b0]) t.truthy(images.find((x) => x.volid === v), `list content=images has ${v}`);
  t.true(images.every((x) => x.content === 'images'), 'list content=images holds only images');
  const all = await storage.listVolumes(sid);
  for (const v of [a0, a1, b0]) t.truthy(all.find((x) => x.volid === v), `unfiltered list has ${v}`);
  for (const other of ['iso', 'vztmpl', 'backup', 'snippets'] as const) {
    if (!env.info.contentTypes.includes(other)) continue;
    const l = await storage.listVolumes(sid, { content: other });
    t.false(l.some((x) => [a0, a1, b0].includes(x.volid)), `list content=${other} has no images`);
  }
  for (const v of [a0, a1, b0]) await storage.free(v);
  await env.assertClean();
}

/** A freed (never existing) volume gives NotFoundError, not a crash or a CommandFailedError. */
export async function checkNotFound(env: ConformanceEnv): Promise<void> {
  const { t, storage } = env;
  const format = env.defaultImageFormat ?? (env.subvolTested ? 'subvol' : undefined);
  if (!format) return notApplicable(env, 'nothing can be allocated', env.formats.length === 0 || !env.def.content.some((c) => c === 'images' || c === 'rootdir'));
  const volid =
    format === 'subvol'
      ? await storage.allocate({ storage: env.sid, vmid: env.vmid(), sizeBytes: 0, format, content: 'rootdir' })
      : await env.allocImage(format);
  await storage.free(volid);
  const nf = { code: ErrorCodes.notFound };
  await t.throwsAsync(storage.volumeInfo(volid), nf, 'volumeInfo');
  await t.throwsAsync(storage.free(volid), nf, 'free');
  await t.throwsAsync(storage.resolve(volid, { consumer: 'host' }), nf, 'resolve');
  if (env.has('resize', 'current', format)) await t.throwsAsync(storage.resize(volid, { sizeBytes: 32 * MiB }), nf, 'resize');
  if (env.has('snapshot', 'current', format)) await t.throwsAsync(storage.snapshotCreate(volid, 'snap1'), nf, 'snapshotCreate');
  await env.assertClean();
}

/** Grow keeps the bytes; shrink only where `features.shrink` allows it, NotSupportedError otherwise. */
export async function checkResize(env: ConformanceEnv): Promise<void> {
  const { t, storage } = env;
  if (env.imageFormats.length === 0) return notApplicable(env, 'no image format is tested', true);
  for (const format of env.imageFormats) {
    const volid = await env.allocImage(format, { sizeBytes: 8 * MiB });
    if (!env.has('resize', 'current', format)) {
      await env.assertRefused(() => storage.resize(volid, { sizeBytes: 16 * MiB }), { feature: 'resize', state: 'current', format, method: 'resize', volname: volnameOf(volid) });
      await storage.free(volid);
      continue;
    }
    let access = await env.access(volid);
    await writePattern(env.runner, access, { offset: 0, length: MiB, byte: 0x42 });
    await env.release(volid);
    await storage.resize(volid, { sizeBytes: 16 * MiB });
    assertSize(env, await storage.volumeInfo(volid), 16 * MiB, `${format} after grow`);
    access = await env.access(volid);
    t.true(await hasPattern(env.runner, access, { offset: 0, length: MiB, byte: 0x42 }), `${format}: bytes survive grow`);
    t.true(await hasPattern(env.runner, access, { offset: 15 * MiB, length: MiB, byte: 0 }), `${format}: grown space reads zeros`);
    await env.release(volid);
    await t.throwsAsync(storage.resize(volid, { sizeBytes: 0 }), { code: ErrorCodes.invalidArgument }, `${format}: size 0`);

    if (env.has('shrink', 'current', format)) {
      await storage.resize(volid, { sizeBytes: 4 * MiB });
      assertSize(env, await storage.volumeInfo(volid), 4 * MiB, `${format} after shrink`);
      access = await env.access(volid);
      t.true(await hasPattern(env.runner, access, { offset: 0, length: MiB, byte: 0x42 }), `${format}: bytes below the new size survive shrink`);
      await env.release(volid);
    } else {
      await env.assertRefused(() => storage.resize(volid, { sizeBytes: 4 * MiB }), { feature: 'shrink', state: 'current', format, method: 'resize', volname: volnameOf(volid) });
      assertSize(env, await storage.volumeInfo(volid), 16 * MiB, `${format} unchanged after refused shrink`);
    }
    await storage.free(volid);
  }
  await env.assertClean();
}

/** The protected attribute blocks free until cleared. */
export async function checkProtected(env: ConformanceEnv): Promise<void> {
  const { t, storage } = env;
  const format: VolumeFormat | undefined = env.defaultImageFormat ?? (env.subvolTested ? 'subvol' : undefined);
  if (!format) return notApplicable(env, 'nothing can be allocated', true);
  const volid =
    format === 'subvol'
      ? await storage.allocate({ storage: env.sid, vmid: env.vmid(), sizeBytes: 0, format, content: 'rootdir' })
      : await env.allocImage(format);
  await storage.setAttributes(volid, { protected: true, notes: 'conformance' });
  t.deepEqual(await storage.getAttributes(volid), { protected: true, notes: 'conformance' });
  const spy = env.spy('free');
  try {
    await t.throwsAsync(storage.free(volid), { code: ErrorCodes.protected }, 'free of a protected volume');
    t.false(spy.calledWith(volnameOf(volid)), 'driver.free ran for a protected volume');
  } finally {
    spy.restore();
  }
  t.is((await storage.volumeInfo(volid)).volid, volid, 'protected volume still exists');
  await storage.setAttributes(volid, { protected: false });
  await storage.free(volid);
  t.deepEqual(await storage.getAttributes(volid), { protected: false, notes: '' }, 'attributes are removed with the volume');
  await env.assertClean();
}
