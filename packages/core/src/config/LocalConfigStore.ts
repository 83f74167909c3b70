import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ConfigChange, ConfigFile, ConfigStore, ConfigTxOp, ConfigTxResult, ConfigWriteOptions } from './ConfigStore.js';
import { moveConfigFile } from './moveConfigFile.js';
import { RevisionLog } from './RevisionLog.js';
import { validateConfigPath } from './validateConfigPath.js';
import { LocalConfigWatch, type WatchSource } from './LocalConfigWatch.js';
import { DirSnapshotCache } from './DirSnapshotCache.js';
import {
  CorralError,
  DigestMismatchError,
  InvalidArgumentError,
  UnavailableError,
} from '../errors.js';
import { HostLockManager } from '../locks/HostLockManager.js';
import { DEFAULT_LOCK_TIMEOUT_MS, type LockLease } from '../locks/LockManager.js';
import { silentLogger, type Logger } from '../util/Logger.js';

/** Options of {@link LocalConfigStore}. */
export interface LocalConfigStoreOptions {
  /** Root directory of the tree (the kernel's dataDir). Created when missing. */
  readonly root: string;
  /** Longest wait for a file's write lock, ms (default 10 000). */
  readonly lockTimeoutMs?: number;
  /** Safety-net rescan interval of {@link LocalConfigStore.watch}, ms (default 1000). */
  readonly watchPollMs?: number;
  /**
   * fsync each written file and its directory (default true). Turning it off loses the
   * durability half of crash safety (atomicity stays); only for throwaway stores.
   */
  readonly fsync?: boolean;
  /** Mode of new files (default 0o640, as /etc/pve). */
  readonly fileMode?: number;
  /** Where errors of watch callbacks go. */
  readonly logger?: Logger;
}

/**
 * A file modified less than this long before we read it may be modified again with the same
 * inode, size and mtime (coarse kernel timestamps): such a cache entry is never trusted.
 * The "racy git" rule.
 */
const RACY_MS = 100;

interface CacheEntry {
  readonly sig: string;
  readonly mtimeMs: number;
  /** Date.now() just before the stat that produced `sig`. */
  readonly checkedAt: number;
  readonly content: string;
  readonly digest: string;
}

/** SHA-1 hex of the UTF-8 bytes of `content`: Proxmox's config `digest`. */
export function configDigest(content: string): string {
  return createHash('sha1').update(content, 'utf8').digest('hex');
}

function statSig(st: fs.Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

// Callback-style fs calls wrapped by hand: for thousands of small files they run about
// twice as fast as node:fs/promises (measured on this project's VMs, Node 20).
function statP(path: string): Promise<fs.Stats | null> {
  return new Promise((resolve, reject) => {
    fs.stat(path, (err, st) => {
      if (err) (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? resolve(null) : reject(err));
      else resolve(st);
    });
  });
}

function readdirP(path: string): Promise<fs.Dirent[]> {
  return new Promise((resolve, reject) => {
    fs.readdir(path, { withFileTypes: true }, (err, entries) => {
      if (err) (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? resolve([]) : reject(err));
      else resolve(entries);
    });
  });
}

/** Reads a file through one descriptor so content and stat describe the same inode. */
function readWithStat(path: string): Promise<{ st: fs.Stats; content: string } | null> {
  return new Promise((resolve, reject) => {
    fs.open(path, 'r', (err, fd) => {
      if (err) {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') resolve(null);
        else reject(err);
        return;
      }
      const done = (error: NodeJS.ErrnoException | null, value?: { st: fs.Stats; content: string }): void => {
        fs.close(fd, () => (error ? reject(error) : resolve(value!)));
      };
      fs.fstat(fd, (err2, st) => {
        if (err2) return done(err2);
        if (!st.isFile()) return done(Object.assign(new Error(`'${path}' is not a regular file`), { code: 'EISDIR' }));
        fs.readFile(fd, 'utf8', (err3, content) => (err3 ? done(err3) : done(null, { st, content })));
      });
    });
  });
}

function fsyncDir(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.open(path, 'r', (err, fd) => {
      if (err) return reject(err);
      fs.fsync(fd, (err2) => fs.close(fd, () => (err2 ? reject(err2) : resolve())));
    });
  });
}

function matchesPrefix(prefix: string, path: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}

/** Name of a temp file of {@link LocalConfigStore}'s atomic writes: `.<name>.tmp-<pid>-<hex>`. */
const TEMP_FILE = /^\..+\.tmp-(\d+)-[0-9a-f]+$/;

/** Directory of transaction journals (hidden: a dot name). */
const TX_DIR = '.transactions';
/** Name of a journal: `<pid>-<hex>.json`. */
const TX_JOURNAL = /^(\d+)-[0-9a-f]+\.json$/;

/** A committed transaction's pending steps: a rename of temp file `tmp` (in the file's directory) over `path`, or a delete of `path`. */
interface TxJournal {
  readonly steps: ReadonlyArray<{ readonly path: string; readonly before: string | null; readonly tmp?: string }>;
}

/** In-process subscribers per store root, so two stores on one root see each other's writes at once. */
const watchesByRoot = new Map<string, Set<LocalConfigWatch>>();

/**
 * {@link ConfigStore} on local files under a root directory (the kernel's dataDir), laid out
 * like Proxmox's /etc/pve (`nodes/<node>/qemu-server/<vmid>.conf`, `storage.cfg`...).
 *
 * - Atomic, durable writes: the content goes to a uniquely named temp file in the same
 *   directory (`.<name>.tmp-<pid>-<random>`), which is fsynced and renamed over the target;
 *   then the directory is fsynced. A crash at any moment leaves the old or the new content.
 *   Temp files are hidden from {@link list} / {@link readAll}; {@link removeStaleTempFiles}
 *   deletes those left by dead processes.
 * - Compare-and-set on the digest (SHA-1 hex of the content) under a per-file lock that is
 *   FIFO inside the process and exclusive across processes of this host
 *   ({@link HostLockManager}: a unix socket in a root-only directory; what a killed writer
 *   leaves is removed by the next one, so there is no stale lock). WARNING: processes sharing
 *   a root must see it under the same path.
 * - Reads are cached by (inode, size, mtime) and checked with one stat per file; files
 *   changed in the last 100 ms are always re-read (coarse timestamps). An external writer
 *   that keeps inode, size and mtime identical (`touch -d` after an in-place edit) is not
 *   noticed. {@link readAll} of an unchanged directory skips even those stats: an inotify
 *   watch per listed directory proves nothing changed (a directory snapshot cache).
 * - {@link watch} reports this process's writes synchronously, and other writers' through
 *   inotify (fs.watch on each directory under the prefix) plus a periodic rescan.
 *
 * Only regular files count: directories show in {@link listDirs}, symlinks are ignored.
 */
export class LocalConfigStore implements ConfigStore {
  /** Canonical absolute root. */
  readonly root: string;
  readonly #locks: HostLockManager;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #snapshots = new DirSnapshotCache({ racyMs: RACY_MS });
  readonly #lockTimeoutMs: number;
  readonly #pollMs: number;
  readonly #fsync: boolean;
  readonly #fileMode: number;
  readonly #logger: Logger;
  readonly #ownWatches = new Set<LocalConfigWatch>();
  readonly #revisions: RevisionLog;
  readonly #tails = new Set<() => void>();

  /** @param options the root directory, or options with it. */
  constructor(options: LocalConfigStoreOptions | string) {
    if (typeof options === 'string') options = { root: options };
    if (typeof options?.root !== 'string' || options.root === '') {
      throw new InvalidArgumentError('root', 'LocalConfigStore needs a root directory');
    }
    fs.mkdirSync(options.root, { recursive: true, mode: 0o750 });
    this.root = fs.realpathSync(options.root);
    this.#locks = new HostLockManager({ namespace: `corral-config:${this.root}` });
    this.#lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.#pollMs = options.watchPollMs ?? 1000;
    this.#fsync = options.fsync ?? true;
    this.#fileMode = options.fileMode ?? 0o640;
    this.#logger = options.logger ?? silentLogger;
    this.#revisions = new RevisionLog(this.root, this.#locks, { fsync: this.#fsync, lockTimeoutMs: this.#lockTimeoutMs, logger: this.#logger });
  }

  /**
   * Starts keeping revisions on this root (idempotent; a root keeps them from then on, for
   * every process): each change gets a line in `.revisions/log`, {@link revision} and
   * {@link watchFrom} work, and changes reported by {@link watch} from this host's stores carry
   * their revision. Costs one more host lock and append per change. A process killed between
   * applying a change and logging it leaves that change out of the log. The log is not compacted.
   */
  async enableRevisions(): Promise<void> {
    await this.#revisions.enable();
  }

  /** {@inheritDoc ConfigStore.revision} @throws InvalidArgumentError when revisions are not enabled on this root. */
  async revision(): Promise<string> {
    return this.#revisions.revision();
  }

  /**
   * A resumable watch; see {@link ConfigStore.watchFrom}. Reads `.revisions/log` from
   * `fromRevision`, then follows it (inotify on the log and a rescan every `watchPollMs`), so
   * it sees every process's changes with their revisions. A throwing callback is logged.
   *
   * @throws InvalidArgumentError when revisions are not enabled, or for a revision past the log's end.
   */
  watchFrom(prefix: string, fromRevision: string, onChange: (change: ConfigChange) => void): () => void {
    const normalized = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    validateConfigPath(normalized, { allowRoot: true, argument: 'prefix' });
    const stop = this.#revisions.tail(String(fromRevision), (path) => matchesPrefix(normalized, path), onChange, this.#pollMs);
    const close = (): void => {
      stop();
      this.#tails.delete(close);
    };
    this.#tails.add(close);
    return close;
  }

  /** {@inheritDoc ConfigStore.read} */
  async read(path: string): Promise<ConfigFile | null> {
    validateConfigPath(path);
    const entry = await this.#guard(path, 'read', () => this.#load(this.#abs(path)));
    return entry ? { path, content: entry.content, digest: entry.digest } : null;
  }

  /**
   * Writes a file atomically (readers see the old or the new content, never a mix) and
   * returns the new digest; see {@link ConfigStore.write}.
   *
   * Creates missing parent directories. Writing the content the file already has changes
   * nothing and emits no watch event. Runs under the file's lock.
   *
   * @throws DigestMismatchError when `expectedDigest` does not match (null: the file exists).
   * @throws LockTimeoutError when the file stays locked longer than `lockTimeoutMs`.
   * @throws InvalidArgumentError for a bad path, non-string content, or a path through a file.
   * @throws UnavailableError when the filesystem fails (full, read-only, I/O error), naming the path.
   */
  async write(path: string, content: string, options: ConfigWriteOptions = {}): Promise<string> {
    validateConfigPath(path);
    if (typeof content !== 'string') throw new InvalidArgumentError('content', `config content for '${path}' must be a string`);
    const { expectedDigest } = options;
    if (expectedDigest !== undefined && expectedDigest !== null && typeof expectedDigest !== 'string') {
      throw new InvalidArgumentError('expectedDigest', 'expectedDigest must be a string, null or omitted');
    }
    const abs = this.#abs(path);
    return this.#guard(path, 'write', () =>
      this.#locks.withLock(
        path,
        async () => {
          const current = await this.#load(abs);
          if (expectedDigest !== undefined && (current?.digest ?? null) !== expectedDigest) {
            throw new DigestMismatchError(path, expectedDigest ?? 'no file', current?.digest ?? null);
          }
          const digest = configDigest(content);
          if (current && current.digest === digest) return digest;
          const checkedAt = Date.now();
          this.#snapshots.invalidate(dirname(abs));
          const st = await this.#atomicWrite(abs, content);
          this.#snapshots.invalidate(dirname(abs));
          this.#cache.set(abs, { sig: statSig(st), mtimeMs: st.mtimeMs, checkedAt, content, digest });
          const [change] = await this.#revisions.append([{ type: 'write', path, digest }]);
          this.#notify(change!, statSig(st));
          return digest;
        },
        { timeoutMs: this.#lockTimeoutMs },
      ),
    );
  }

  /**
   * Deletes a file; with `expectedDigest`, only when it matches (else `DigestMismatchError`).
   * Returns false when there was nothing to delete; see {@link ConfigStore.delete}.
   *
   * A file that is already gone returns false, with or without `expectedDigest`.
   * Runs under the file's lock.
   */
  async delete(path: string, options: { expectedDigest?: string } = {}): Promise<boolean> {
    validateConfigPath(path);
    const abs = this.#abs(path);
    return this.#guard(path, 'delete', () =>
      this.#locks.withLock(
        path,
        async () => {
          const current = await this.#load(abs);
          if (!current) return false;
          if (options.expectedDigest !== undefined && current.digest !== options.expectedDigest) {
            throw new DigestMismatchError(path, options.expectedDigest, current.digest);
          }
          try {
            await fs.promises.unlink(abs);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
            throw error;
          }
          this.#cache.delete(abs);
          this.#snapshots.invalidate(dirname(abs));
          if (this.#fsync) await fsyncDir(dirname(abs));
          const [change] = await this.#revisions.append([{ type: 'delete', path }]);
          this.#notify(change!, null);
          return true;
        },
        { timeoutMs: this.#lockTimeoutMs },
      ),
    );
  }

  /**
   * Applies every op or none; see {@link ConfigStore.transaction}. Takes the file locks of all
   * paths (in path order, so two transactions never deadlock), checks every expectation, writes
   * the new contents to fsynced temp files, then records the renames and deletes in a journal
   * (`.transactions/<pid>-<random>.json`, written atomically: the commit point), applies them
   * and removes the journal. A crash before the journal is written leaves the old state (the
   * temp files go with {@link removeStaleTempFiles}); after it, {@link recoverTransactions}
   * (the kernel runs it at start) completes the transaction, for each file only if no one
   * changed it since. Between the rename of one file and the next, a reader of this host may
   * see some files changed and others not yet.
   *
   * @throws DigestMismatchError for the first op (in the given order) whose expectation fails; nothing changed.
   * @throws InvalidArgumentError for no ops, a bad op or path, or a path named twice.
   * @throws LockTimeoutError when a file stays locked longer than `lockTimeoutMs`.
   */
  async transaction(ops: readonly ConfigTxOp[]): Promise<ConfigTxResult> {
    if (!Array.isArray(ops) || ops.length === 0) throw new InvalidArgumentError('ops', 'a transaction needs at least one op');
    const seen = new Set<string>();
    for (const op of ops) {
      if (!op || !['write', 'delete', 'check'].includes(op.type)) throw new InvalidArgumentError('ops', `unknown transaction op ${JSON.stringify(op?.type)}`);
      validateConfigPath(op.path);
      if (seen.has(op.path)) throw new InvalidArgumentError('ops', `'${op.path}' is named twice in one transaction`);
      seen.add(op.path);
      if (op.type === 'write' && typeof op.content !== 'string') throw new InvalidArgumentError('content', `config content for '${op.path}' must be a string`);
    }
    const paths = [...seen].sort();
    return this.#guard(paths[0]!, 'transaction', async () => {
      const leases: LockLease[] = [];
      try {
        for (const path of paths) leases.push(await this.#locks.acquire(path, { timeoutMs: this.#lockTimeoutMs }));
        const current = new Map<string, CacheEntry | null>();
        for (const path of paths) current.set(path, await this.#load(this.#abs(path)));
        for (const op of ops) {
          const have = current.get(op.path)?.digest ?? null;
          if (op.expectedDigest !== undefined && have !== op.expectedDigest) {
            throw new DigestMismatchError(op.path, op.expectedDigest ?? 'no file', have);
          }
        }
        return await this.#applyTransaction(ops, current);
      } finally {
        for (const lease of leases.reverse()) await lease.release();
      }
    });
  }

  /**
   * Moves a file atomically (afterwards exactly one of the two exists) and returns the digest
   * at `to`; see {@link ConfigStore.move}. Runs as one {@link transaction}.
   *
   * @throws NotFoundError when `from` does not exist.
   * @throws DigestMismatchError when `to` exists, or `from` does not have `expectedDigest`.
   */
  move(from: string, to: string, options: { expectedDigest?: string } = {}): Promise<string> {
    return moveConfigFile(this, from, to, options);
  }

  /**
   * Completes transactions whose process died after their commit point (a journal left in
   * `.transactions`): under each file's lock, a pending rename or delete is applied only if
   * the file still has the digest it had before the transaction; else the newer content stays.
   * Journals of live processes are left alone. Returns how many journals were completed.
   */
  async recoverTransactions(): Promise<number> {
    const dir = this.#abs(TX_DIR);
    let done = 0;
    for (const e of await readdirP(dir)) {
      const m = TX_JOURNAL.exec(e.name);
      if (!m || !e.isFile()) continue;
      if (Number(m[1]) === process.pid || isProcessAlive(Number(m[1]))) continue;
      const journalPath = join(dir, e.name);
      let journal: TxJournal;
      try {
        journal = JSON.parse(await fs.promises.readFile(journalPath, 'utf8')) as TxJournal;
      } catch {
        continue; // gone meanwhile (another recoverer)
      }
      for (const step of journal.steps) {
        await this.#locks.withLock(
          step.path,
          async () => {
            const abs = this.#abs(step.path);
            const tmp = step.tmp === undefined ? undefined : join(dirname(abs), step.tmp);
            const have = (await this.#load(abs))?.digest ?? null;
            const pending = tmp === undefined ? have !== null : (await statP(tmp)) !== null;
            if (pending && have === step.before) {
              if (tmp === undefined) await fs.promises.unlink(abs).catch(() => undefined);
              else await fs.promises.rename(tmp, abs);
              this.#cache.delete(abs);
              this.#snapshots.invalidate(dirname(abs));
              if (this.#fsync) await fsyncDir(dirname(abs));
            } else if (tmp !== undefined) {
              await fs.promises.unlink(tmp).catch(() => undefined);
            }
          },
          { timeoutMs: this.#lockTimeoutMs },
        );
      }
      await fs.promises.unlink(journalPath).catch(() => undefined);
      done++;
    }
    return done;
  }

  async #applyTransaction(ops: readonly ConfigTxOp[], current: ReadonlyMap<string, CacheEntry | null>): Promise<ConfigTxResult> {
    const digests = new Map<string, string>();
    const writes: Array<{ path: string; abs: string; content: string; digest: string; tmp: string; st: fs.Stats; firstCreated?: string }> = [];
    const deletes: Array<{ path: string; abs: string }> = [];
    try {
      for (const op of ops) {
        const have = current.get(op.path) ?? null;
        const abs = this.#abs(op.path);
        if (op.type === 'write') {
          const digest = configDigest(op.content);
          digests.set(op.path, digest);
          if (have?.digest === digest) continue;
          const temp = await this.#writeTemp(abs, op.content);
          writes.push({ path: op.path, abs, content: op.content, digest, ...temp });
        } else if (op.type === 'delete' && have) {
          deletes.push({ path: op.path, abs });
        }
      }
      if (writes.length + deletes.length === 0) return { digests };
      const journal: TxJournal = {
        steps: [
          ...writes.map((w) => ({ path: w.path, before: current.get(w.path)?.digest ?? null, tmp: basename(w.tmp) })),
          ...deletes.map((d) => ({ path: d.path, before: current.get(d.path)!.digest })),
        ],
      };
      for (const w of writes) await this.#syncDirs(dirname(w.abs), w.firstCreated);
      const journalPath = join(this.#abs(TX_DIR), `${process.pid}-${randomBytes(6).toString('hex')}.json`);
      await this.#atomicWrite(journalPath, JSON.stringify(journal));
      writes.forEach((w) => (w.tmp = ''));
      for (const step of journal.steps) this.#snapshots.invalidate(dirname(this.#abs(step.path)));
      const checkedAt = Date.now();
      for (const w of writes) {
        await fs.promises.rename(join(dirname(w.abs), journal.steps.find((s) => s.path === w.path)!.tmp!), w.abs);
        this.#cache.delete(w.abs);
      }
      for (const d of deletes) {
        await fs.promises.unlink(d.abs).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
        this.#cache.delete(d.abs);
      }
      if (this.#fsync) for (const dir of new Set(journal.steps.map((st) => dirname(this.#abs(st.path))))) await fsyncDir(dir);
      await fs.promises.unlink(journalPath);
      for (const step of journal.steps) this.#snapshots.invalidate(dirname(this.#abs(step.path)));
      const logged = await this.#revisions.append([
        ...writes.map((w): ConfigChange => ({ type: 'write', path: w.path, digest: w.digest })),
        ...deletes.map((d): ConfigChange => ({ type: 'delete', path: d.path })),
      ]);
      for (const [i, w] of writes.entries()) {
        const st = await statP(w.abs);
        if (st) this.#cache.set(w.abs, { sig: statSig(st), mtimeMs: st.mtimeMs, checkedAt, content: w.content, digest: w.digest });
        this.#notify(logged[i]!, st ? statSig(st) : null);
      }
      for (const change of logged.slice(writes.length)) this.#notify(change, null);
      return { digests };
    } catch (error) {
      // Before the commit point the temp files are all there is to undo.
      for (const w of writes) if (w.tmp !== '') await fs.promises.unlink(w.tmp).catch(() => undefined);
      throw error;
    }
  }

  /** {@inheritDoc ConfigStore.list} */
  async list(dir: string): Promise<string[]> {
    validateConfigPath(dir, { allowRoot: true, argument: 'dir' });
    const entries = await this.#guard(dir, 'list', () => readdirP(this.#abs(dir)));
    return entries
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  }

  /** {@inheritDoc ConfigStore.listDirs} */
  async listDirs(dir: string): Promise<string[]> {
    validateConfigPath(dir, { allowRoot: true, argument: 'dir' });
    const entries = await this.#guard(dir, 'list', () => readdirP(this.#abs(dir)));
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  }

  /**
   * Reads every file directly in `dir` whose name ends with `suffix`, in one call, sorted by
   * name; see {@link ConfigStore.readAll}.
   *
   * Cost when nothing changed: one stat of the directory, served from a snapshot that inotify
   * proves current (see the class notes on caching). After a change: one directory read plus one
   * stat per file, and a read of each changed file (in parallel). A file deleted while
   * listing is left out. The returned objects are frozen and may be shared between calls.
   */
  async readAll(dir: string, suffix = ''): Promise<ConfigFile[]> {
    validateConfigPath(dir, { allowRoot: true, argument: 'dir' });
    const absDir = this.#abs(dir);
    return this.#guard(dir, 'readAll', async () => {
      const cached = await this.#snapshots.get(absDir, suffix);
      if (cached) return cached.slice();
      const commit = this.#snapshots.arm(absDir);
      const dirStat = await statP(absDir);
      const names = (await readdirP(absDir))
        .filter((e) => e.isFile() && !e.name.startsWith('.') && e.name.endsWith(suffix))
        .map((e) => e.name)
        .sort();
      const loaded = await Promise.all(names.map((name) => this.#load(join(absDir, name))));
      const out: ConfigFile[] = [];
      for (let i = 0; i < names.length; i++) {
        const entry = loaded[i];
        if (entry) {
          out.push(Object.freeze({ path: dir === '' ? names[i]! : `${dir}/${names[i]}`, content: entry.content, digest: entry.digest }));
        }
      }
      commit(dirStat?.isDirectory() ? dirStat : null, suffix, out);
      return out.slice();
    });
  }

  /**
   * Calls `onChange` for changes under `prefix` until the returned function is called; see
   * {@link ConfigStore.watch}.
   *
   * `prefix` is a path (file or directory, `''` for everything); changes to it and below are
   * reported. Writes through any LocalConfigStore of this process on the same root are
   * reported before their `write`/`delete` resolves; other writers' changes within about
   * 20 ms (inotify) or at the latest after `watchPollMs`. Changes made before the first scan
   * of the prefix completes are taken as the starting state, not reported. A throwing
   * callback is logged and ignored.
   */
  watch(prefix: string, onChange: (change: ConfigChange) => void): () => void {
    const normalized = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    validateConfigPath(normalized, { allowRoot: true, argument: 'prefix' });
    const watch = new LocalConfigWatch({
      source: this.#watchSource(),
      prefix: normalized,
      onChange,
      pollMs: this.#pollMs,
      logger: this.#logger,
    });
    let set = watchesByRoot.get(this.root);
    if (!set) watchesByRoot.set(this.root, (set = new Set()));
    set.add(watch);
    this.#ownWatches.add(watch);
    watch.start();
    return () => {
      watch.close();
      this.#ownWatches.delete(watch);
      const s = watchesByRoot.get(this.root);
      s?.delete(watch);
      if (s?.size === 0) watchesByRoot.delete(this.root);
    };
  }

  /**
   * Resolves once every watch opened through this instance has scanned its prefix once
   * (from then on, other writers' changes are reported). Tests and tools use it.
   */
  async watchesReady(): Promise<void> {
    await Promise.all([...this.#ownWatches].map((w) => w.ready));
  }

  /** Stops every watch opened through this instance and the readAll snapshots' inotify watches. The store stays usable. */
  close(): void {
    this.#snapshots.close();
    for (const watch of [...this.#ownWatches]) {
      watch.close();
      watchesByRoot.get(this.root)?.delete(watch);
    }
    this.#ownWatches.clear();
    for (const close of [...this.#tails]) close();
  }

  /**
   * Deletes temp files left by writers that died mid-write (their pid is gone) in `dir`, and
   * with `recursive` in every directory below it except those named in `exclude` (paths
   * relative to the root, e.g. `tasks`). Returns how many were removed. The kernel runs it
   * over the whole store when it starts.
   */
  async removeStaleTempFiles(dir: string, options: { recursive?: boolean; exclude?: readonly string[] } = {}): Promise<number> {
    validateConfigPath(dir, { allowRoot: true, argument: 'dir' });
    const excluded = new Set(options.exclude ?? []);
    let removed = 0;
    const sweep = async (rel: string): Promise<void> => {
      const absDir = this.#abs(rel);
      for (const e of await readdirP(absDir)) {
        const child = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (options.recursive && !excluded.has(child)) await sweep(child);
          continue;
        }
        const m = TEMP_FILE.exec(e.name);
        if (!m || !e.isFile()) continue;
        const pid = Number(m[1]);
        if (pid === process.pid || isProcessAlive(pid)) continue;
        try {
          await fs.promises.unlink(join(absDir, e.name));
          removed++;
        } catch {
          // Someone else removed it.
        }
      }
    };
    await sweep(dir);
    return removed;
  }

  #abs(path: string): string {
    return path === '' ? this.root : join(this.root, path);
  }

  /** Loads a file, from cache when its stat proves the cache current. */
  async #load(abs: string): Promise<CacheEntry | null> {
    const checkedAt = Date.now();
    const cached = this.#cache.get(abs);
    if (cached) {
      const st = await statP(abs);
      if (!st) {
        this.#cache.delete(abs);
        return null;
      }
      if (statSig(st) === cached.sig && cached.mtimeMs < cached.checkedAt - RACY_MS) return cached;
    }
    const r = await readWithStat(abs);
    if (!r) {
      this.#cache.delete(abs);
      return null;
    }
    const entry: CacheEntry = {
      sig: statSig(r.st),
      mtimeMs: r.st.mtimeMs,
      checkedAt,
      content: r.content,
      digest: configDigest(r.content),
    };
    this.#cache.set(abs, entry);
    return entry;
  }

  async #atomicWrite(abs: string, content: string): Promise<fs.Stats> {
    const temp = await this.#writeTemp(abs, content);
    try {
      await fs.promises.rename(temp.tmp, abs);
    } catch (error) {
      await fs.promises.unlink(temp.tmp).catch(() => undefined);
      throw error;
    }
    await this.#syncDirs(dirname(abs), temp.firstCreated);
    return temp.st;
  }

  /** Writes `content` to a new fsynced temp file beside `abs` (creating missing directories). */
  async #writeTemp(abs: string, content: string): Promise<{ tmp: string; st: fs.Stats; firstCreated: string | undefined }> {
    const dir = dirname(abs);
    let firstCreated: string | undefined;
    try {
      firstCreated = await fs.promises.mkdir(dir, { recursive: true, mode: 0o750 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // EEXIST / ENOTDIR: a path component is a file.
      if (code === 'EEXIST' || code === 'ENOTDIR') throw Object.assign(error as Error, { code: 'ENOTDIR' });
      throw error;
    }
    const tmp = join(dir, `.${basename(abs)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    let st: fs.Stats;
    const fh = await fs.promises.open(tmp, 'wx', this.#fileMode);
    try {
      try {
        await fh.writeFile(content, 'utf8');
        if (this.#fsync) await fh.sync();
        st = await fh.stat();
      } finally {
        await fh.close();
      }
    } catch (error) {
      await fs.promises.unlink(tmp).catch(() => undefined);
      throw error;
    }
    return { tmp, st, firstCreated };
  }

  /** Makes a directory's entries durable, and new directories (up to `firstCreated`) in their parents. */
  async #syncDirs(dir: string, firstCreated: string | undefined): Promise<void> {
    if (!this.#fsync) return;
    await fsyncDir(dir);
    if (firstCreated !== undefined) {
      for (let d = dir; ; d = dirname(d)) {
        await fsyncDir(dirname(d));
        if (d === firstCreated || d === dirname(d)) break;
      }
    }
  }

  #notify(change: ConfigChange, sig: string | null): void {
    const set = watchesByRoot.get(this.root);
    if (!set) return;
    for (const watch of set) {
      if (matchesPrefix(watch.prefix, change.path)) watch.ownChange(change, sig);
    }
  }

  #watchSource(): WatchSource {
    return {
      abs: (path) => this.#abs(path),
      readdir: readdirP,
      stat: statP,
      load: async (path) => {
        const entry = await this.#load(this.#abs(path));
        return entry && { digest: entry.digest };
      },
      racyMs: RACY_MS,
    };
  }

  /** Maps filesystem errors to Corral errors naming the path. */
  async #guard<T>(path: string, op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof CorralError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EISDIR') {
        throw new InvalidArgumentError('path', `config path '${path}' runs into a ${code === 'EISDIR' ? 'directory' : 'file'}`, {
          cause: error,
        });
      }
      throw new UnavailableError('config-store', `config store ${op} of '${path}' failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

/** True when a process with this pid exists (EPERM counts as existing). */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
