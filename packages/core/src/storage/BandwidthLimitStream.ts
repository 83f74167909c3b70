import { Transform, type TransformCallback } from 'node:stream';

/** Clock and sleep of a {@link BandwidthLimitStream} (tests give their own). */
export interface BandwidthClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `done` after `ms` milliseconds; returns a function that cancels it. */
  sleep(ms: number, done: () => void): () => void;
}

const REAL_CLOCK: BandwidthClock = {
  now: () => performance.now(),
  sleep: (ms, done) => {
    const timer = setTimeout(done, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * A pass-through stream that lets at most `bytesPerSecond` through on average since its first
 * byte (a storage's `bwlimit`, see `storageBandwidthLimit`): a chunk that arrives ahead of that
 * pace is held until the pace catches up, so the writer is slowed by backpressure. Bytes pass
 * unchanged. Destroying the stream drops a held chunk.
 */
export class BandwidthLimitStream extends Transform {
  #start: number | undefined;
  #bytes = 0;
  #cancel: (() => void) | undefined;

  constructor(
    private readonly bytesPerSecond: number,
    options: { highWaterMark?: number; clock?: BandwidthClock } = {},
  ) {
    super({ highWaterMark: options.highWaterMark });
    if (!(bytesPerSecond > 0)) throw new RangeError(`bandwidth limit must be > 0 bytes/s, got ${bytesPerSecond}`);
    this.#clock = options.clock ?? REAL_CLOCK;
  }

  readonly #clock: BandwidthClock;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#start ??= this.#clock.now();
    this.#bytes += chunk.length;
    const due = this.#start + (this.#bytes / this.bytesPerSecond) * 1000;
    const wait = due - this.#clock.now();
    if (wait <= 0) {
      callback(null, chunk);
      return;
    }
    this.#cancel = this.#clock.sleep(wait, () => {
      this.#cancel = undefined;
      callback(null, chunk);
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#cancel?.();
    this.#cancel = undefined;
    callback(error);
  }
}
