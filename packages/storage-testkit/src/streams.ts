import { PassThrough, Readable, type Writable } from 'node:stream';

/** A writable that keeps what is written, and a promise of all of it once the writer ends it. */
export function collectStream(): { stream: Writable; done: Promise<Buffer> } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
  return { stream, done };
}

/** A readable that yields `data` in chunks of `chunkBytes` (default 256 KiB). */
export function bufferStream(data: Buffer, chunkBytes = 256 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunkBytes) yield data.subarray(i, Math.min(data.length, i + chunkBytes));
    })(),
  );
}

/** The 8-byte little-endian size header of the `*+size` transfer formats. */
export function sizeHeader(sizeBytes: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(sizeBytes));
  return b;
}
