import { ErrorCodes, STORAGE_CONTENT_TYPES, type VolumeFormat } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';

/** The capability record is self-consistent and fits the definition. */
export async function checkInfo(env: ConformanceEnv): Promise<void> {
  const { t, info, def } = env;
  t.is(info.type, def.type, 'info.type is the storage type id');
  t.true(info.formats.length > 0, 'info.formats is not empty');
  t.true(info.formats.includes(info.defaultFormat), `defaultFormat '${info.defaultFormat}' is in formats`);
  for (const c of info.contentTypes) t.true(STORAGE_CONTENT_TYPES.includes(c), `content type '${c}' is a known one`);
  for (const c of info.defaultContent) t.true(info.contentTypes.includes(c), `default content '${c}' is in contentTypes`);
  for (const c of def.content) t.true(info.contentTypes.includes(c), `enabled content '${c}' is in contentTypes`);
  for (const [feature, states] of Object.entries(info.features)) {
    for (const [state, formats] of Object.entries(states ?? {})) {
      for (const f of formats as readonly VolumeFormat[]) {
        t.true(info.formats.includes(f), `features.${feature}.${state} names format '${f}', which is not in formats`);
      }
    }
  }
  const noAllocation = env.options.cannotAllocate !== undefined;
  if (noAllocation) t.deepEqual(info.importFormats, [], 'a driver declared unable to allocate imports nothing (an import makes a volume)');
  if (info.contentTypes.includes('images')) {
    t.true(info.exportFormats.includes('raw+size'), 'an image-capable driver exports raw+size');
    if (!noAllocation) t.true(info.importFormats.includes('raw+size'), 'an image-capable driver imports raw+size');
  }
  if (info.formats.includes('subvol')) {
    t.true(info.exportFormats.includes('tar+size'), 'a subvol-capable driver exports tar+size');
    if (!noAllocation) t.true(info.importFormats.includes('tar+size'), 'a subvol-capable driver imports tar+size');
  }
  t.true(info.accessKinds.length > 0, 'info.accessKinds is not empty');
  t.is(info.optionsSchema.type, 'object', 'optionsSchema is a typebox object');
  for (const s of info.secretOptions) t.true(s in info.optionsSchema.properties, `secret option '${s}' is in optionsSchema`);
}

/** An active storage reports coherent sizes. */
export async function checkStatus(env: ConformanceEnv): Promise<void> {
  const { t } = env;
  const s = await env.storage.status(env.sid);
  t.true(s.active, 'storage is active');
  t.true(s.enabled, 'storage is enabled');
  t.is(s.type, env.def.type);
  t.true(Number.isSafeInteger(s.totalBytes) && s.totalBytes > 0, `totalBytes > 0 (got ${s.totalBytes})`);
  t.true(Number.isSafeInteger(s.availableBytes) && s.availableBytes >= 0 && s.availableBytes <= s.totalBytes, `0 <= availableBytes <= totalBytes (got ${s.availableBytes})`);
  t.true(Number.isSafeInteger(s.usedBytes) && s.usedBytes >= 0 && s.usedBytes <= s.totalBytes, `0 <= usedBytes <= totalBytes (got ${s.usedBytes})`);
  const all = await env.storage.statusAll();
  t.truthy(all.find((x) => x.id === env.sid), 'statusAll lists the storage');
}

/** A storage id nobody defined is NotFoundError everywhere. */
export async function checkUnknownStorage(env: ConformanceEnv): Promise<void> {
  const { t, storage } = env;
  const missing = 'no-such-storage-x1';
  const nf = { code: ErrorCodes.notFound };
  await t.throwsAsync(storage.volumeInfo(`${missing}:100/vm-100-disk-0.raw`), nf, 'volumeInfo');
  await t.throwsAsync(storage.listVolumes(missing), nf, 'listVolumes');
  await t.throwsAsync(storage.status(missing), nf, 'status');
  await t.throwsAsync(storage.allocate({ storage: missing, vmid: env.vmid(), sizeBytes: 1024 * 1024 }), nf, 'allocate');
  await t.throwsAsync(storage.free(`${missing}:vm-100-disk-0`), nf, 'free');
  const err = await t.throwsAsync(storage.get(missing), nf, 'get');
  t.is((err as { kind?: string } | undefined)?.kind, 'storage');
}

/** Names that are not volume names of ANY Proxmox storage type. */
const GARBAGE_VOLNAMES = ['has space', 'line\nbreak', 'tab\tname'];

/**
 * Traversal, absolute paths, NUL and names of other storage types are refused with
 * InvalidVolumeIdError, and the driver's volume operations never see them.
 */
export async function checkBadVolumeIds(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid } = env;
  const traversal = ['../../etc/passwd', '/etc/passwd', '100/../../x.raw', 'a/./b', 'a//b', 'x\0y', 'a\\b', ''];
  const names = [...traversal, ...GARBAGE_VOLNAMES, ...(env.options.foreignVolnames ?? [])];
  const spies = [env.spy('volumeInfo'), env.spy('free'), env.spy('resolve'), env.spy('resize'), env.spy('snapshotCreate')];
  try {
    for (const name of names) {
      const volid = `${sid}:${name}`;
      const what = JSON.stringify(volid);
      const bad = { code: ErrorCodes.invalidVolumeId };
      await t.throwsAsync(storage.volumeInfo(volid), bad, `volumeInfo ${what}`);
      await t.throwsAsync(storage.free(volid), bad, `free ${what}`);
      await t.throwsAsync(storage.resolve(volid, { consumer: 'host' }), bad, `resolve ${what}`);
      await t.throwsAsync(storage.resize(volid, { sizeBytes: 16 * 1024 * 1024 }), bad, `resize ${what}`);
      await t.throwsAsync(storage.snapshotCreate(volid, 'snap1'), bad, `snapshotCreate ${what}`);
      await t.throwsAsync(storage.parse(volid), bad, `parse ${what}`);
      for (const s of spies) t.false(s.calledWith(name), `driver received ${what}`);
    }
    await t.throwsAsync(storage.volumeInfo('no-colon-here'), { code: ErrorCodes.invalidVolumeId }, 'volid without a storage id');
  } finally {
    for (const s of spies) s.restore();
  }
}
