import { ErrorCodes, type TransferFormat, type VolumeFormat } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { bufferStream, collectStream } from '../streams.js';
import { hasPattern, MiB, readMarkerFile, writeMarkerFile, writePattern } from '../volumeBytes.js';
import { assertSize, notApplicable } from './allocation.js';

const A = { offset: 0, length: MiB, byte: 0xa7 };
const C = { offset: 6 * MiB, length: MiB, byte: 0xc9 };
const HOLE = { offset: 2 * MiB, length: MiB, byte: 0 };

async function fill(env: ConformanceEnv, volid: string): Promise<void> {
  const access = await env.access(volid);
  await writePattern(env.runner, access, A);
  await writePattern(env.runner, access, C);
  await env.release(volid);
}

async function holdsFill(env: ConformanceEnv, volid: string, what: string): Promise<void> {
  const access = await env.access(volid);
  env.t.true(await hasPattern(env.runner, access, A), `${what}: first MiB`);
  env.t.true(await hasPattern(env.runner, access, HOLE), `${what}: unwritten range reads zeros`);
  env.t.true(await hasPattern(env.runner, access, C), `${what}: data at 6 MiB`);
  await env.release(volid);
}

/**
 * Full copies through `kernel.storage.copy` (the driver's `copyVolume` within the storage where
 * it has one, else export/import streams) within the storage and to
 * the copy target: same bytes, same size, independent of the source; copies of a snapshot
 * where `copy.snapshot` allows it.
 */
export async function checkCopy(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid } = env;
  if (env.imageFormats.length === 0) return notApplicable(env, 'no image format is tested', true);
  if (!env.target) t.log('setup gave no copyTargetStorageId: cross-storage copies are not tested');
  for (const format of env.imageFormats) {
    const src = await env.allocImage(format, { sizeBytes: 8 * MiB });
    await fill(env, src);

    const hook = env.driver.copyVolume ? env.spy('copyVolume') : undefined;
    let copy: string;
    try {
      copy = await storage.copy(src, { targetStorage: sid, vmid: env.vmid() });
    } finally {
      hook?.restore();
    }
    if (hook) t.log(`${format}: the copy within '${sid}' ${hook.calls.length > 0 ? 'went through' : 'did not reach'} the driver's copyVolume`);
    const info = await storage.volumeInfo(copy);
    t.is(info.format, format, `${format}: a copy within the storage keeps the format`);
    assertSize(env, info, 8 * MiB, `${format} copy`);
    await holdsFill(env, copy, `${format} copy within '${sid}'`);
    let access = await env.access(copy);
    await writePattern(env.runner, access, { offset: 0, length: MiB, byte: 0x01 });
    await env.release(copy);
    access = await env.access(src);
    t.true(await hasPattern(env.runner, access, A), `${format}: writing the copy leaves the source alone`);
    await env.release(src);

    if (env.target) {
      const remote = await storage.copy(src, { targetStorage: env.target, vmid: env.vmid() });
      t.true(remote.startsWith(`${env.target}:`), `copy lands on '${env.target}'`);
      assertSize(env, await storage.volumeInfo(remote), 8 * MiB, `${format} copy on the target`);
      await holdsFill(env, remote, `${format} copy on '${env.target}'`);
      await storage.free(remote);
    }

    if (env.has('copy', 'snapshot', format) && env.has('snapshot', 'current', format)) {
      await storage.snapshotCreate(src, 'snap1');
      access = await env.access(src);
      await writePattern(env.runner, access, { offset: 0, length: MiB, byte: 0xee });
      await env.release(src);
      const fromSnap = await storage.copy(src, { targetStorage: sid, vmid: env.vmid(), snapshot: 'snap1' });
      await holdsFill(env, fromSnap, `${format} copy of snapshot snap1`);
      await storage.free(fromSnap);
      await storage.snapshotDelete(src, 'snap1');
    }
    await storage.free(copy);
    await storage.free(src);
  }
  await env.assertClean();
}

/** Which volume format a transfer format is tested on, or why it is not. */
function volumeFor(env: ConformanceEnv, format: TransferFormat): { format: VolumeFormat } | { reason: string } {
  if (format === 'tar+size') return env.subvolTested ? { format: 'subvol' } : { reason: 'tar+size needs a tested subvol format and content rootdir' };
  if (format === 'qcow2+size') return env.imageFormats.includes('qcow2') ? { format: 'qcow2' } : { reason: 'qcow2+size needs the qcow2 format' };
  if (format === 'raw+size') return env.defaultImageFormat ? { format: env.defaultImageFormat } : { reason: 'raw+size needs a tested image format' };
  // Backend-native streams (zfs, rbd-diff, btrfs) carry whatever the driver holds.
  const f = env.defaultImageFormat ?? (env.subvolTested ? 'subvol' : undefined);
  return f ? { format: f } : { reason: `${format}: nothing can be allocated to export` };
}

/** A stream cut short inside its body: half of it, at an offset that is not a multiple of 512 (so never at a tar block boundary). */
function truncate(data: Buffer): Buffer {
  const cut = Math.max(9, Math.floor(data.length / 2 / 512) * 512 + 100);
  return data.subarray(0, Math.min(cut, data.length - 1));
}

/**
 * Imports `data` cut short (see {@link truncate}) in `format` and asserts that the import
 * fails with a coded Corral error (`code` `CORRAL_ERR_...`) and leaves no volume of the guest.
 */
async function checkTruncatedImport(
  env: ConformanceEnv,
  format: TransferFormat,
  data: Buffer,
  volume: { volumeFormat: VolumeFormat; content?: 'images' | 'rootdir' },
): Promise<void> {
  const { t, storage, sid } = env;
  const vmid = env.vmid();
  const err = await t.throwsAsync(
    storage.importVolume({ storage: sid, vmid, format, stream: bufferStream(truncate(data)), ...volume }),
    undefined,
    `${format}: an import of a truncated stream (${truncate(data).length} of ${data.length} bytes) fails`,
  );
  const code = (err as { code?: unknown } | undefined)?.code;
  t.true(typeof code === 'string' && code.startsWith('CORRAL_ERR_'), `${format}: a truncated import fails with a coded error (got ${String(code)}: ${err?.message})`);
  t.deepEqual((await storage.listVolumes(sid, { vmid })).map((v) => v.volid), [], `${format}: a failed import leaves no volume`);
}

/**
 * Export/import round trips in every format the driver both exports and imports; `raw+size`
 * streams are checked byte for byte (8-byte LE size header, then exactly `size` bytes). For
 * every one of those formats, an import of the stream cut short fails with a coded error and
 * leaves no volume behind. An export format the driver lacks is refused.
 */
export async function checkTransfer(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid, info } = env;
  const formats = info.exportFormats.filter((f) => info.importFormats.includes(f));
  let tested = 0;
  for (const tf of formats) {
    const vf = volumeFor(env, tf);
    if ('reason' in vf) {
      t.log(`not tested: ${vf.reason}`);
      continue;
    }
    tested++;
    const volumeFormat = vf.format;
    if (volumeFormat === 'subvol') {
      const src = await storage.allocate({ storage: sid, vmid: env.vmid(), sizeBytes: 0, format: 'subvol', content: 'rootdir' });
      const access = await env.access(src, 'container');
      await writeMarkerFile(access, 'etc/hostname', 'conformance\n');
      await writeMarkerFile(access, 'var/lib/data.bin', 'x'.repeat(100_000));
      await env.release(src);
      const out = collectStream();
      await storage.exportVolume(src, { format: tf, stream: out.stream });
      const data = await out.done;
      t.true(data.length > 8, `${tf}: stream has a header and a body`);
      const imported = await storage.importVolume({ storage: sid, vmid: env.vmid(), format: tf, stream: bufferStream(data), content: 'rootdir', volumeFormat: 'subvol' });
      const back = await env.access(imported, 'container');
      t.is(await readMarkerFile(back, 'etc/hostname'), 'conformance\n', `${tf}: files come back`);
      t.is((await readMarkerFile(back, 'var/lib/data.bin'))?.length, 100_000, `${tf}: file sizes come back`);
      await env.release(imported);
      await storage.free(imported);
      await checkTruncatedImport(env, tf, data, { volumeFormat: 'subvol', content: 'rootdir' });
      await storage.free(src);
      continue;
    }
    const src = await env.allocImage(volumeFormat, { sizeBytes: 8 * MiB });
    await fill(env, src);
    const size = (await storage.volumeInfo(src)).sizeBytes;
    const out = collectStream();
    await storage.exportVolume(src, { format: tf, stream: out.stream });
    const data = await out.done;
    t.true(data.length >= 8, `${tf}: stream has a header`);
    if (tf.endsWith('+size')) t.is(Number(data.readBigUInt64LE(0)), size, `${tf}: header holds the volume size in bytes`);
    if (tf === 'raw+size') {
      t.is(data.length, 8 + size, 'raw+size: exactly size bytes follow the header');
      t.true(data.subarray(8, 8 + MiB).equals(Buffer.alloc(MiB, A.byte)), 'raw+size: the bytes of the volume');
      t.true(data.subarray(8 + C.offset, 8 + C.offset + MiB).equals(Buffer.alloc(MiB, C.byte)), 'raw+size: data at 6 MiB');
    }
    if (tf === 'qcow2+size') t.is(data.subarray(8, 12).toString('latin1'), 'QFI\xfb', 'qcow2+size: a qcow2 file follows the header');
    const imported = await storage.importVolume({ storage: sid, vmid: env.vmid(), format: tf, stream: bufferStream(data), volumeFormat });
    assertSize(env, await storage.volumeInfo(imported), 8 * MiB, `${tf} import`);
    await holdsFill(env, imported, `${tf} import`);
    await storage.free(imported);
    await checkTruncatedImport(env, tf, data, { volumeFormat });
    await storage.free(src);
  }
  t.true(tested > 0 || formats.length === 0, 'at least one transfer format was exercised');

  const unknown = (['raw+size', 'tar+size', 'qcow2+size', 'zfs', 'rbd-diff', 'btrfs'] as const).find((f) => !info.exportFormats.includes(f));
  const any = env.defaultImageFormat;
  if (unknown && any) {
    const src = await env.allocImage(any);
    await t.throwsAsync(storage.exportVolume(src, { format: unknown, stream: collectStream().stream }), { code: ErrorCodes.notSupported }, `export in '${unknown}'`);
    await storage.free(src);
  }
  await env.assertClean();
}
