import { ErrorCodes, type StorageContent, type TransferFormat } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { ALLOCATING_CHECKS } from '../checkIds.js';
import { bufferStream, sizeHeader } from '../streams.js';
import { MiB } from '../volumeBytes.js';

/**
 * For a suite that declares `cannotAllocate`: the declaration holds. The record says
 * `allocates: false`; `allocate` of every tested format (or the driver's default) is refused
 * by the facade with `NotSupportedError` naming `allocate` before the driver runs; an import
 * in `raw+size` and every declared import format is refused with `NotSupportedError`; no
 * volume of the test's guest ids is left. Logs which checks were not run because of the
 * declaration.
 */
export async function checkNoAllocation(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid, info, def } = env;
  const reason = env.options.cannotAllocate;
  t.log(`${ALLOCATING_CHECKS.length} checks not run because ${env.options.name} declares it cannot allocate (${reason}): ${ALLOCATING_CHECKS.join(', ')}`);
  const content: StorageContent = def.content.includes('images') ? 'images' : def.content.includes('rootdir') ? 'rootdir' : (def.content[0] ?? 'images');
  t.is(info.allocates, false, "the capability record says so too ('allocates: false'), so that the facade refuses before the driver runs");
  const formats = env.formats.length > 0 ? env.formats : [info.defaultFormat];
  let refused = 0;
  const allocate = env.spy('allocate');
  try {
    for (const format of formats) {
      const vmid = env.vmid();
      const err = await t.throwsAsync(
        storage.allocate({ storage: sid, vmid, sizeBytes: 8 * MiB, format, content: format === 'subvol' ? 'rootdir' : content }),
        undefined,
        `allocate of a ${format} volume on a storage declared unable to allocate`,
      );
      t.is((err as { code?: string } | undefined)?.code, ErrorCodes.notSupported, `allocate (${format}) is NotSupportedError, not: ${err?.message}`);
      t.is((err as { operation?: string } | undefined)?.operation, 'allocate', `the refusal names the capability 'allocate' (${err?.message})`);
      refused++;
    }
    t.is(allocate.calls.length, 0, 'driver.allocate ran although the storage cannot allocate');
  } finally {
    allocate.restore();
  }
  const data = Buffer.alloc(MiB, 0x5a);
  const formatsToImport: TransferFormat[] = [...new Set<TransferFormat>(['raw+size', ...info.importFormats])];
  for (const format of formatsToImport) {
    const err = await t.throwsAsync(
      storage.importVolume({ storage: sid, vmid: env.vmid(), format, stream: bufferStream(Buffer.concat([sizeHeader(data.length), data])) }),
      undefined,
      `import of '${format}' on a storage declared unable to allocate`,
    );
    t.is((err as { code?: string } | undefined)?.code, ErrorCodes.notSupported, `import of '${format}' is NotSupportedError, not: ${err?.message}`);
    refused++;
  }
  t.log(`${refused} allocations and imports were refused`);
  await env.assertClean();
}
