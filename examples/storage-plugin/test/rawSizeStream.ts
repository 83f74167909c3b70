import { Readable } from 'node:stream';

const MiB = 1024 * 1024;

/** A raw+size stream of `sizeBytes` holding `data` at `offset` and zeros elsewhere, in 1 MiB chunks. */
export function rawSizeStream(sizeBytes: number, offset: number, data: Buffer): Readable {
  return Readable.from(
    (function* () {
      const header = Buffer.alloc(8);
      header.writeBigUInt64LE(BigInt(sizeBytes));
      yield header;
      for (let at = 0; at < sizeBytes; at += MiB) {
        const chunk = Buffer.alloc(Math.min(MiB, sizeBytes - at));
        if (offset < at + chunk.length && offset + data.length > at) data.copy(chunk, Math.max(0, offset - at), Math.max(0, at - offset));
        yield chunk;
      }
    })(),
  );
}
