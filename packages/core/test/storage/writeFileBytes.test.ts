/** The body of a file export: exactly the bytes asked for, a short file is a ParseError, the stream stays open. */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ErrorCodes, writeFileBytes } from '../../src/index.js';
import { makeTempDir } from '../../src/testing/index.js';

async function collect(write: (out: PassThrough) => Promise<number>): Promise<{ n: number; bytes: Buffer; ended: boolean }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const n = await write(out);
  return { n, bytes: Buffer.concat(chunks), ended: out.writableEnded };
}

test('writes the whole file, or exactly its first length bytes, without ending the stream', async (t) => {
  const path = join(await makeTempDir(t, 'corral-wfb-'), 'img.raw');
  const data = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
  await writeFile(path, data);
  const all = await collect((out) => writeFileBytes(path, out));
  t.is(all.n, data.length);
  t.true(all.bytes.equals(data));
  t.false(all.ended, 'the caller ends the stream');
  const head = await collect((out) => writeFileBytes(path, out, { length: 1024 * 1024 + 1 }));
  t.true(head.bytes.equals(data.subarray(0, 1024 * 1024 + 1)));
  t.is((await collect((out) => writeFileBytes(path, out, { length: 0 }))).n, 0);
});

test('a file shorter than length is a ParseError naming it', async (t) => {
  const path = join(await makeTempDir(t, 'corral-wfb-'), 'short.raw');
  await writeFile(path, Buffer.alloc(1000));
  const err = await t.throwsAsync(collect((out) => writeFileBytes(path, out, { length: 4096 })), { code: ErrorCodes.parse });
  t.regex(err!.message, /read 1000 bytes, the volume has 4096/);
  t.regex(err!.message, /short\.raw/);
});
