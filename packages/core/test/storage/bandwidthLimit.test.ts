/**
 * A storage's `bwlimit` (KiB/s per operation, as Proxmox) decoded, and the stream that holds a
 * copy to it, on a test clock: the time it makes the writer wait is what the limit asks.
 */
import test from 'ava';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BandwidthLimitStream, copyBandwidthLimit, storageBandwidthLimit, type BandwidthClock, type StorageDefinition } from '../../src/index.js';

/** A clock that only moves when the stream sleeps (or the test moves it). */
function testClock(): BandwidthClock & { t: number; slept: number[] } {
  const clock = {
    t: 0,
    slept: [] as number[],
    now: () => clock.t,
    sleep: (ms: number, done: () => void) => {
      clock.slept.push(ms);
      clock.t += ms;
      setImmediate(done);
      return () => undefined;
    },
  };
  return clock;
}

async function pass(stream: BandwidthLimitStream, chunks: Buffer[], beforeEach?: () => void): Promise<Buffer> {
  const out: Buffer[] = [];
  const source = Readable.from(
    (function* () {
      for (const c of chunks) {
        beforeEach?.();
        yield c;
      }
    })(),
  );
  await pipeline(source, stream, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return Buffer.concat(out);
}

test('1 MiB through a 256 KiB/s limit waits 4 s in all, and the bytes pass unchanged', async (t) => {
  const clock = testClock();
  const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(64 * 1024, i));
  const out = await pass(new BandwidthLimitStream(256 * 1024, { clock }), chunks);
  t.true(out.equals(Buffer.concat(chunks)));
  t.is(clock.slept.length, 16);
  t.is(Math.round(clock.slept.reduce((a, b) => a + b, 0)), 4000);
});

test('a writer slower than the limit is held only for the first chunk (its own time at the limit)', async (t) => {
  const clock = testClock();
  const chunks = Array.from({ length: 8 }, () => Buffer.alloc(1024));
  // Each 1 KiB chunk arrives 10 ms after the last: 100 KiB/s, under a 1 MiB/s limit.
  await pass(new BandwidthLimitStream(1024 * 1024, { clock }), chunks, () => (clock.t += 10));
  t.deepEqual(clock.slept, [(1024 / (1024 * 1024)) * 1000]);
});

test('a limit must be positive', (t) => {
  t.throws(() => new BandwidthLimitStream(0), { instanceOf: RangeError });
});

const def = (bwlimit?: string) => ({ id: 's', type: 'dir', content: [], nodes: [], disabled: false, shared: false, options: bwlimit ? { bwlimit } : {} }) as StorageDefinition;

test('bwlimit: the operation key, else default, in KiB/s; the lower of two storages', (t) => {
  t.is(storageBandwidthLimit('clone=1024,default=512', 'clone'), 1024 * 1024);
  t.is(storageBandwidthLimit('clone=1024,default=512', 'move'), 512 * 1024);
  t.is(storageBandwidthLimit('restore=100', 'clone'), undefined);
  t.is(storageBandwidthLimit('default=0', 'clone'), undefined, '0 is no limit');
  t.is(storageBandwidthLimit(undefined, 'clone'), undefined);
  t.is(copyBandwidthLimit(def('clone=2048'), def('default=1024'), 'clone'), 1024 * 1024);
  t.is(copyBandwidthLimit(def(), def('move=300'), 'move'), 300 * 1024);
  t.is(copyBandwidthLimit(def(), def(), 'clone'), undefined);
});
