import * as fs from 'node:fs';
import { setImmediate as nextCheckPhase } from 'node:timers/promises';
import type { ConfigFile } from './ConfigStore.js';

/** A snapshot is not served when older than this, ms (belt and braces over inotify). */
const MAX_TRUST_MS = 10_000;
/** At most this many directories keep an inotify watch for snapshots. */
const MAX_WATCHED_DIRS = 256;

interface Snapshot {
  /** ino:mtimeMs of the directory when the snapshot was taken. */
  readonly dirSig: string;
  readonly takenAt: number;
  readonly files: readonly ConfigFile[];
}

interface DirState {
  readonly watcher: fs.FSWatcher;
  /** False from the first inotify event after {@link DirSnapshotCache.arm}. */
  clean: boolean;
  /** Snapshots by suffix. */
  readonly snapshots: Map<string, Snapshot>;
}

function statDir(path: string): Promise<fs.Stats | null> {
  return new Promise((resolve) => fs.stat(path, (err, st) => resolve(err ? null : st)));
}

/**
 * Whole-directory results of `readAll`, served without a stat per file while inotify says
 * nothing in the directory changed.
 *
 * Consistency: a snapshot is served only when (1) no inotify event arrived for the directory
 * since the pass that built it was armed, checked after one stat of the directory and a
 * turn to the event loop's check phase, by which time every event queued before the call
 * was delivered; (2) the directory's inode and mtime are those of the snapshot and were
 * older than `racyMs` when it was taken (so a rename-based writer is caught even if inotify
 * failed); (3) it is younger than 10 s. Any change (own writes included) therefore costs one
 * full stat pass on the next `readAll`.
 * @internal
 */
export class DirSnapshotCache {
  readonly #dirs = new Map<string, DirState>();
  readonly #racyMs: number;

  constructor(options: { racyMs: number }) {
    this.#racyMs = options.racyMs;
  }

  /** The files of `absDir` for `suffix` when a snapshot is provably current, else null. */
  async get(absDir: string, suffix: string): Promise<readonly ConfigFile[] | null> {
    const state = this.#dirs.get(absDir);
    const snap = state?.snapshots.get(suffix);
    if (!state || !snap || !state.clean || Date.now() - snap.takenAt > MAX_TRUST_MS) return null;
    const st = await statDir(absDir);
    await nextCheckPhase();
    if (!state.clean || !st || `${st.ino}:${st.mtimeMs}` !== snap.dirSig) return null;
    return snap.files;
  }

  /**
   * Starts a full pass over `absDir`: (re)arms the inotify watch and returns the function
   * that stores the pass's result, which it drops if anything changed meanwhile.
   */
  arm(absDir: string): (dirStat: fs.Stats | null, suffix: string, files: readonly ConfigFile[]) => void {
    let state = this.#dirs.get(absDir);
    if (!state && this.#dirs.size < MAX_WATCHED_DIRS) {
      try {
        const watcher = fs.watch(absDir, { persistent: false }, () => {
          const s = this.#dirs.get(absDir);
          if (s) {
            s.clean = false;
            s.snapshots.clear();
          }
        });
        watcher.on('error', () => this.#drop(absDir));
        state = { watcher, clean: true, snapshots: new Map() };
        this.#dirs.set(absDir, state);
      } catch {
        // Missing directory or no inotify watches left: no snapshots for it.
      }
    }
    if (!state) return () => undefined;
    const armed = state;
    armed.clean = true;
    const armedAt = Date.now();
    return (dirStat, suffix, files) => {
      if (!armed.clean || this.#dirs.get(absDir) !== armed || !dirStat) return;
      if (dirStat.mtimeMs >= armedAt - this.#racyMs) return;
      armed.snapshots.set(suffix, { dirSig: `${dirStat.ino}:${dirStat.mtimeMs}`, takenAt: armedAt, files });
    };
  }

  /** Forgets `absDir` (its content was changed by this process). */
  invalidate(absDir: string): void {
    const state = this.#dirs.get(absDir);
    if (state) {
      state.clean = false;
      state.snapshots.clear();
    }
  }

  /** Closes every inotify watch. */
  close(): void {
    for (const dir of [...this.#dirs.keys()]) this.#drop(dir);
  }

  #drop(absDir: string): void {
    const state = this.#dirs.get(absDir);
    if (!state) return;
    this.#dirs.delete(absDir);
    state.watcher.close();
  }
}
