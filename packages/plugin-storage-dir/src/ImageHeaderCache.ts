import type { Stats } from 'node:fs';
import { statfs } from 'node:fs/promises';

/** What the header of an image says (qcow2 header, or `qemu-img info` for vmdk). Sizes in bytes. */
export interface ImageHeaderFacts {
  /** Virtual (guest-visible) size. */
  readonly sizeBytes: number;
  /** Backing file as written in the image, if any. */
  readonly backingFile?: string;
}

interface Entry {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly facts: ImageHeaderFacts;
}

/**
 * A file whose change time is not at least this much older than the moment it was stat'ed
 * is not cached: a later change in the same timestamp tick could leave size, mtime and
 * ctime as they were. This default (ms) covers coarse granularity (2 s on FAT) and a network
 * server's clock running behind ours.
 */
export const HEADER_CACHE_SETTLE_MS = 2_000;

/**
 * The settle time (ms) on local filesystems whose timestamps come from this kernel's clock
 * in ns units: the coarse clock they use lags the real-time clock by at most one tick
 * (10 ms at HZ=100), so a change after our stat gets a later timestamp than one this old.
 */
export const HEADER_CACHE_SETTLE_LOCAL_MS = 100;

/** `statfs` f_type of local kernel filesystems with fine timestamps (linux/magic.h). */
const LOCAL_FS_TYPES = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x2fc12fc1, // zfs (OpenZFS kernel module)
  0xf2f52010, // f2fs
  0x794c7630, // overlayfs
  0xca451a4e, // bcachefs
]);

/**
 * The settle time (ms) for image files under `dir`: {@link HEADER_CACHE_SETTLE_LOCAL_MS} on
 * a known local filesystem, else {@link HEADER_CACHE_SETTLE_MS} (also when `statfs` fails).
 */
export async function headerSettleMs(dir: string): Promise<number> {
  try {
    return LOCAL_FS_TYPES.has(Number((await statfs(dir)).type)) ? HEADER_CACHE_SETTLE_LOCAL_MS : HEADER_CACHE_SETTLE_MS;
  } catch {
    return HEADER_CACHE_SETTLE_MS;
  }
}

/** Default bound on the number of cached files. */
const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * Parsed image headers by path, valid while the file keeps its device, inode, size, mtime
 * and ctime, so that listing unchanged images does not reopen them. Any write, truncate,
 * rename over the path or attribute change moves ctime (which user space cannot set), so a
 * changed file misses. Files changed less than a settle time (see {@link headerSettleMs})
 * before they were stat'ed are never cached. Bounded: the oldest entries go first. Not persisted; one
 * per driver instance. Synchronous, no locks.
 */
export class ImageHeaderCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = DEFAULT_MAX_ENTRIES) {}

  /** The cached facts of `path` if `st` (a fresh stat of it) shows the file unchanged. */
  get(path: string, st: Stats): ImageHeaderFacts | undefined {
    const e = this.#entries.get(path);
    if (!e) return undefined;
    if (e.dev === st.dev && e.ino === st.ino && e.size === st.size && e.mtimeMs === st.mtimeMs && e.ctimeMs === st.ctimeMs) return e.facts;
    this.#entries.delete(path);
    return undefined;
  }

  /**
   * Remembers the facts read from `path` after `st` was taken; `statStartedMs` is
   * `Date.now()` from before that stat. Ignored when the file changed less than `settleMs`
   * (default {@link HEADER_CACHE_SETTLE_MS}) before `statStartedMs`.
   */
  set(path: string, st: Stats, facts: ImageHeaderFacts, options: { statStartedMs: number; settleMs?: number }): void {
    if (!(st.ctimeMs < options.statStartedMs - (options.settleMs ?? HEADER_CACHE_SETTLE_MS))) return;
    this.#entries.delete(path);
    this.#entries.set(path, { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, facts });
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** Number of cached files. */
  get size(): number {
    return this.#entries.size;
  }
}
