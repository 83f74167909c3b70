import * as fs from 'node:fs';
import { join } from 'node:path';
import type { ConfigChange } from './ConfigStore.js';
import { InvalidArgumentError } from '../errors.js';
import type { HostLockManager } from '../locks/HostLockManager.js';
import type { Logger } from '../util/Logger.js';

/** Directory of the revision log under a store root (hidden: a dot name). */
const REVISION_DIR = '.revisions';
const LOG_FILE = 'log';
/** Host lock name serializing appends (not a valid config path, so no file lock shares it). */
const APPEND_LOCK = '.revisions/append';
/** Most bytes of the log read at once by a tail (lines are far shorter). */
const MAX_READ_BYTES = 1024 * 1024;

/**
 * The change log of a {@link LocalConfigStore} root, shared by every process on it: one JSON
 * line per change (`{"type","path","digest"?}`), appended under a host lock after the change
 * is applied and while the file's own lock is still held. A change's revision is the log's
 * byte length right after its line: decimal, increasing, the same for every process.
 *
 * Off until {@link enable} creates the log; from then on every store on the root appends.
 * A process killed between applying a change and appending its line leaves that change out
 * of the log (the file itself is current). The log is never compacted.
 *
 * @internal
 */
export class RevisionLog {
  readonly #path: string;
  #known = false;

  constructor(
    root: string,
    private readonly locks: HostLockManager,
    private readonly options: { fsync: boolean; lockTimeoutMs: number; logger: Logger },
  ) {
    this.#path = join(root, REVISION_DIR, LOG_FILE);
  }

  /** True once the root has a revision log. */
  enabled(): boolean {
    if (!this.#known) this.#known = fs.existsSync(this.#path);
    return this.#known;
  }

  /** Creates the log (idempotent). */
  async enable(): Promise<void> {
    await fs.promises.mkdir(join(this.#path, '..'), { recursive: true, mode: 0o750 });
    await (await fs.promises.open(this.#path, 'a', 0o640)).close();
    this.#known = true;
  }

  /** The current revision (`'0'` for an empty log). */
  async revision(): Promise<string> {
    this.#require();
    return String((await fs.promises.stat(this.#path)).size);
  }

  /** Appends `changes` and returns them with their revisions. A no-op returning them as given when the log is off. */
  async append(changes: readonly ConfigChange[]): Promise<ConfigChange[]> {
    if (!this.enabled() || changes.length === 0) return [...changes];
    return this.locks.withLock(
      APPEND_LOCK,
      async () => {
        const fh = await fs.promises.open(this.#path, 'a');
        try {
          let offset = (await fh.stat()).size;
          const out: ConfigChange[] = [];
          let text = '';
          for (const c of changes) {
            const line = `${JSON.stringify(c.digest === undefined ? { type: c.type, path: c.path } : { type: c.type, path: c.path, digest: c.digest })}\n`;
            offset += Buffer.byteLength(line);
            text += line;
            out.push({ ...c, revision: String(offset) });
          }
          await fh.write(text);
          if (this.options.fsync) await fh.sync();
          return out;
        } finally {
          await fh.close();
        }
      },
      { timeoutMs: this.options.lockTimeoutMs },
    );
  }

  /**
   * Calls `onChange` for every logged change after revision `from` whose path is under
   * `prefix` (`matches`), in log order, then for each new one as it is appended (inotify on the
   * log plus a rescan every `pollMs`), until the returned function is called.
   *
   * Reads at most 1 MiB of the log at a time; an unreadable line is skipped once with a warning.
   *
   * @throws InvalidArgumentError when `from` is not a revision of this log.
   */
  tail(from: string, matches: (path: string) => boolean, onChange: (change: ConfigChange) => void, pollMs: number): () => void {
    this.#require();
    let offset = Number(from);
    const size = fs.statSync(this.#path).size;
    if (!/^\d+$/.test(from) || offset > size) {
      throw new InvalidArgumentError('fromRevision', `'${from}' is not a revision of this store (current: ${size})`);
    }
    let closed = false;
    let running: Promise<void> | undefined;
    let again = false;
    const readNew = async (): Promise<void> => {
      const fh = await fs.promises.open(this.#path, 'r');
      try {
        for (;;) {
          const { size: end } = await fh.stat();
          if (end <= offset) return;
          const buf = Buffer.alloc(Math.min(end - offset, MAX_READ_BYTES));
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          const chunk = buf.subarray(0, bytesRead);
          const complete = chunk.lastIndexOf(0x0a) + 1;
          if (complete === 0) {
            if (bytesRead < MAX_READ_BYTES) return; // a line being appended: read it next time
            this.options.logger.warn(`config revision log: skipping ${bytesRead} bytes at ${offset} without a line end`);
            offset += bytesRead;
            continue;
          }
          for (const line of chunk.subarray(0, complete).toString('utf8').split('\n').slice(0, -1)) {
            if (closed) return;
            offset += Buffer.byteLength(line) + 1;
            let c: ConfigChange;
            try {
              c = JSON.parse(line) as ConfigChange;
            } catch {
              this.options.logger.warn(`config revision log: skipping an unreadable line before revision ${offset}`);
              continue;
            }
            if (typeof c?.path !== 'string' || !matches(c.path)) continue;
            try {
              onChange({ ...c, revision: String(offset) });
            } catch (error) {
              this.options.logger.warn(`config watch callback threw: ${(error as Error)?.message ?? String(error)}`);
            }
          }
        }
      } finally {
        await fh.close();
      }
    };
    const kick = (): void => {
      if (closed) return;
      if (running) {
        again = true;
        return;
      }
      running = readNew()
        .catch((error: Error) => this.options.logger.warn(`reading the config revision log failed: ${error.message}`))
        .finally(() => {
          running = undefined;
          if (again) {
            again = false;
            kick();
          }
        });
    };
    const watcher = fs.watch(this.#path, () => kick());
    watcher.on('error', () => undefined);
    const timer = setInterval(kick, pollMs);
    timer.unref();
    kick();
    return () => {
      closed = true;
      watcher.close();
      clearInterval(timer);
    };
  }

  #require(): void {
    if (!this.enabled()) throw new InvalidArgumentError('revisions', 'this config store keeps no revisions: call enableRevisions() first');
  }
}
