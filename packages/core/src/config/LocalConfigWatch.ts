import * as fs from 'node:fs';
import { dirname } from 'node:path';
import type { ConfigChange } from './ConfigStore.js';
import type { Logger } from '../util/Logger.js';

/**
 * What a {@link LocalConfigWatch} needs from its store.
 * @internal
 */
export interface WatchSource {
  abs(path: string): string;
  readdir(abs: string): Promise<fs.Dirent[]>;
  stat(abs: string): Promise<fs.Stats | null>;
  /** Current digest of a store path, null when gone. */
  load(path: string): Promise<{ digest: string } | null>;
  racyMs: number;
}

/** Delay between an inotify event and the rescan it triggers, ms (coalesces bursts). */
const INOTIFY_DEBOUNCE_MS = 20;

interface Known {
  sig: string | null;
  digest: string;
}

/**
 * One `watch(prefix)` subscription of a {@link LocalConfigStore}: keeps the digest of every
 * file under the prefix, rescans on inotify events and on a timer, and reports differences.
 * Own writes arrive through {@link ownChange} and are reported at once.
 * @internal
 */
export class LocalConfigWatch {
  readonly prefix: string;
  readonly #source: WatchSource;
  readonly #onChange: (change: ConfigChange) => void;
  readonly #pollMs: number;
  readonly #logger: Logger;
  readonly #known = new Map<string, Known>();
  /** Paths changed by own writes while a scan ran: that scan's view of them is stale. */
  readonly #changedDuringScan = new Set<string>();
  readonly #fsWatchers = new Map<string, fs.FSWatcher>();
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #scanning = false;
  #rescan = false;
  #initialized = false;
  #closed = false;

  constructor(options: {
    source: WatchSource;
    prefix: string;
    onChange: (change: ConfigChange) => void;
    pollMs: number;
    logger: Logger;
  }) {
    this.#source = options.source;
    this.prefix = options.prefix;
    this.#onChange = options.onChange;
    this.#pollMs = options.pollMs;
    this.#logger = options.logger;
    this.ready = new Promise((resolve) => (this.#markReady = resolve));
  }

  /** Resolves after the first scan (the baseline) completed, or the watch was closed. */
  readonly ready: Promise<void>;
  #markReady!: () => void;

  start(): void {
    void this.#scan();
    this.#timer = setInterval(() => void this.#scan(), this.#pollMs);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    this.#markReady();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#debounce) clearTimeout(this.#debounce);
    for (const w of this.#fsWatchers.values()) w.close();
    this.#fsWatchers.clear();
  }

  /** A change made through a store of this process: report it now. */
  ownChange(change: ConfigChange, sig: string | null): void {
    if (this.#closed) return;
    if (this.#scanning) this.#changedDuringScan.add(change.path);
    if (change.type === 'delete') {
      if (!this.#known.delete(change.path) && this.#initialized) return;
    } else {
      const prev = this.#known.get(change.path);
      this.#known.set(change.path, { sig, digest: change.digest! });
      if (prev?.digest === change.digest) return;
    }
    this.#deliver(change);
  }

  #deliver(change: ConfigChange): void {
    try {
      this.#onChange(change);
    } catch (error) {
      this.#logger.error('config watch callback threw', { prefix: this.prefix, path: change.path, error: String(error) });
    }
  }

  #schedule(): void {
    if (this.#closed || this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.#scan();
    }, INOTIFY_DEBOUNCE_MS);
    this.#debounce.unref();
  }

  async #scan(): Promise<void> {
    if (this.#closed) return;
    if (this.#scanning) {
      this.#rescan = true;
      return;
    }
    this.#scanning = true;
    this.#changedDuringScan.clear();
    try {
      await this.#scanOnce(this.#initialized);
      this.#initialized = true;
    } catch (error) {
      this.#logger.warn('config watch scan failed', { prefix: this.prefix, error: String(error) });
    } finally {
      this.#scanning = false;
      this.#markReady();
    }
    if (this.#rescan && !this.#closed) {
      this.#rescan = false;
      void this.#scan();
    }
  }

  async #scanOnce(emit: boolean): Promise<void> {
    const files = new Map<string, { sig: string; racy: boolean }>();
    const dirs: string[] = [];
    const now = Date.now();
    const addFile = (path: string, st: fs.Stats): void => {
      files.set(path, { sig: `${st.ino}:${st.size}:${st.mtimeMs}`, racy: st.mtimeMs >= now - this.#source.racyMs });
    };
    const walk = async (path: string): Promise<void> => {
      dirs.push(path);
      const entries = await this.#source.readdir(this.#source.abs(path));
      await Promise.all(
        entries.map(async (e) => {
          if (e.name.startsWith('.')) return;
          const child = path === '' ? e.name : `${path}/${e.name}`;
          if (e.isDirectory()) return walk(child);
          if (!e.isFile()) return;
          const st = await this.#source.stat(this.#source.abs(child));
          if (st?.isFile()) addFile(child, st);
        }),
      );
    };
    const top = await this.#source.stat(this.#source.abs(this.prefix));
    if (top?.isDirectory()) await walk(this.prefix);
    else if (top?.isFile()) addFile(this.prefix, top);
    if (this.#closed) return;

    for (const [path, { sig, racy }] of files) {
      if (this.#changedDuringScan.has(path)) continue;
      const known = this.#known.get(path);
      if (known && known.sig === sig && !racy) continue;
      const loaded = await this.#source.load(path);
      if (this.#closed) return;
      if (!loaded || this.#changedDuringScan.has(path)) continue;
      const before = this.#known.get(path);
      this.#known.set(path, { sig, digest: loaded.digest });
      if (emit && before?.digest !== loaded.digest) this.#deliver({ type: 'write', path, digest: loaded.digest });
    }
    for (const path of [...this.#known.keys()]) {
      if (files.has(path) || this.#changedDuringScan.has(path)) continue;
      this.#known.delete(path);
      if (emit) this.#deliver({ type: 'delete', path });
    }
    await this.#syncFsWatchers(dirs);
  }

  /** Watches every scanned directory; when the prefix does not exist yet, its nearest existing ancestor. */
  async #syncFsWatchers(dirs: string[]): Promise<void> {
    const wanted = new Set(dirs.map((d) => this.#source.abs(d)));
    if (dirs.length === 0) {
      let p = this.prefix;
      while (p !== '') {
        p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
        const st = await this.#source.stat(this.#source.abs(p));
        if (st?.isDirectory()) break;
      }
      wanted.add(this.#source.abs(p));
      // A prefix naming a file: its directory.
      const st = await this.#source.stat(this.#source.abs(this.prefix));
      if (st?.isFile()) wanted.add(dirname(this.#source.abs(this.prefix)));
    }
    if (this.#closed) return;
    for (const [dir, w] of this.#fsWatchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.#fsWatchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.#fsWatchers.has(dir)) continue;
      try {
        const w = fs.watch(dir, { persistent: false }, () => this.#schedule());
        w.on('error', () => {
          w.close();
          this.#fsWatchers.delete(dir);
          this.#schedule();
        });
        this.#fsWatchers.set(dir, w);
      } catch {
        // Gone meanwhile, or out of inotify watches: the periodic rescan still covers it.
      }
    }
  }
}
