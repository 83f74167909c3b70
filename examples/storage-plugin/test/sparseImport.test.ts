import test from 'ava';
import { open } from 'node:fs/promises';
import { createTestKernel, makeTempDir } from '@corral/core/testing';
import { ROOT_CALLER } from '@corral/core';
import { storageFlatPlugin } from '../src/index.js';
import { rawSizeStream } from './rawSizeStream.js';

const MiB = 1024 * 1024;

test('an import writes only the non-zero blocks: the image stays sparse', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageFlatPlugin] });
  await kernel.storage.add('flat', 'flatdir', { path: await makeTempDir(t, 'corral-flat-') }, { caller: ROOT_CALLER });
  const data = Buffer.alloc(MiB, 0x5c);
  const size = 64 * MiB;
  const volid = await kernel.storage.importVolume({ storage: 'flat', vmid: 100, format: 'raw+size', stream: rawSizeStream(size, 32 * MiB + 4096, data) });
  t.is(volid, 'flat:100/vm-100-disk-0.raw');

  const info = await kernel.storage.volumeInfo(volid);
  t.is(info.sizeBytes, size);
  t.log(`imported ${size} bytes holding ${MiB} bytes of data: ${info.usedBytes} bytes allocated`);
  t.true(info.usedBytes! <= 2 * MiB, `only the data's blocks are allocated (got ${info.usedBytes} bytes)`);

  const access = await kernel.storage.resolve(volid, { consumer: 'host' });
  if (access.kind !== 'file') return t.fail(`resolve answered ${access.kind}`);
  const fh = await open(access.path, 'r');
  try {
    const back = Buffer.alloc(MiB + 8192);
    await fh.read(back, 0, back.length, 32 * MiB);
    t.true(back.subarray(4096, 4096 + MiB).equals(data), 'the data is where the stream put it');
    t.true(back.subarray(0, 4096).every((b) => b === 0) && back.subarray(4096 + MiB).every((b) => b === 0), 'zeros around it');
  } finally {
    await fh.close();
  }
  await kernel.storage.free(volid);
  t.deepEqual(await kernel.storage.listVolumes('flat'), []);
});
