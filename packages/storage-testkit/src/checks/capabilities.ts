import { ErrorCodes, STORAGE_CONTENT_TYPES, type StorageDriver, type VolumeFeature, type VolumeFormat, type VolumeState } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { MiB } from '../volumeBytes.js';
import { volnameOf } from './allocation.js';

interface Probe {
  readonly feature: VolumeFeature;
  readonly state: VolumeState;
  readonly method: (env: ConformanceEnv) => keyof StorageDriver & string;
  readonly call: (env: ConformanceEnv, volid: string) => Promise<unknown>;
  /** Formats the probe applies to (default: all). */
  readonly applies?: (format: VolumeFormat) => boolean;
}

const method = (m: keyof StorageDriver & string) => () => m;
/** A copy runs the driver's same-storage hook when it has one, else its export. */
const copyMethod = (env: ConformanceEnv): keyof StorageDriver & string => (env.driver.copyVolume ? 'copyVolume' : 'exportVolume');

const PROBES: readonly Probe[] = [
  { feature: 'snapshot', state: 'current', method: method('snapshotCreate'), call: (env, v) => env.storage.snapshotCreate(v, 'snap1') },
  { feature: 'rollback', state: 'snapshot', method: method('snapshotRollback'), call: (env, v) => env.storage.snapshotRollback(v, 'snap1') },
  { feature: 'template', state: 'current', method: method('createBase'), call: (env, v) => env.storage.createBase(v) },
  { feature: 'clone', state: 'current', method: method('cloneLinked'), call: (env, v) => env.storage.cloneLinked(v, { vmid: env.vmid() }) },
  { feature: 'clone', state: 'snapshot', method: method('cloneLinked'), call: (env, v) => env.storage.cloneLinked(v, { vmid: env.vmid(), snapshot: 'snap1' }) },
  { feature: 'resize', state: 'current', method: method('resize'), call: (env, v) => env.storage.resize(v, { sizeBytes: 16 * MiB }) },
  {
    feature: 'shrink',
    state: 'current',
    method: method('resize'),
    call: (env, v) => env.storage.resize(v, { sizeBytes: 4 * MiB }),
    applies: (f) => f !== 'subvol',
  },
  { feature: 'copy', state: 'current', method: copyMethod, call: (env, v) => env.storage.copy(v, { targetStorage: env.sid, vmid: env.vmid() }) },
  { feature: 'copy', state: 'snapshot', method: copyMethod, call: (env, v) => env.storage.copy(v, { targetStorage: env.sid, vmid: env.vmid(), snapshot: 'snap1' }) },
];

/**
 * Every feature the capability record leaves out, for every tested format (container subvols
 * too), is refused by the facade with NotSupportedError naming the capability, and the
 * driver's method never runs. Formats and content the storage cannot hold are
 * InvalidArgumentError before `allocate` runs.
 */
export async function checkCapabilities(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid, info } = env;
  let refused = 0;
  const formats = [...env.imageFormats, ...(env.subvolTested ? (['subvol'] as const) : [])];
  for (const format of formats) {
    const missing = PROBES.filter((p) => !env.has(p.feature, p.state, format) && (p.applies?.(format) ?? true));
    if (missing.length === 0) continue;
    const volid =
      format === 'subvol'
        ? await storage.allocate({ storage: sid, vmid: env.vmid(), sizeBytes: 0, format, content: 'rootdir' })
        : await env.allocImage(format);
    for (const probe of missing) {
      await env.assertRefused(() => probe.call(env, volid), { feature: probe.feature, state: probe.state, format, method: probe.method(env), volname: volnameOf(volid) });
      refused++;
    }
    await storage.free(volid);
  }
  t.log(`${refused} missing capabilities were refused before the driver ran`);

  const allocate = env.spy('allocate');
  try {
    const foreign = (['vmdk', 'qcow2', 'raw', 'subvol', 'vma', 'iso'] as VolumeFormat[]).find((f) => !info.formats.includes(f))!;
    await t.throwsAsync(
      storage.allocate({ storage: sid, vmid: env.vmid(), sizeBytes: 8 * MiB, format: foreign, content: 'images' }),
      { code: ErrorCodes.invalidArgument },
      `format '${foreign}' is not in info.formats`,
    );
    const off = STORAGE_CONTENT_TYPES.find((c) => !env.def.content.includes(c));
    if (off) {
      await t.throwsAsync(
        storage.allocate({ storage: sid, vmid: env.vmid(), sizeBytes: 8 * MiB, content: off }),
        { code: ErrorCodes.invalidArgument },
        `content '${off}' is not enabled on the storage`,
      );
    }
    t.is(allocate.calls.length, 0, 'driver.allocate ran for a refused allocation');
  } finally {
    allocate.restore();
  }
  await env.assertClean();
}
