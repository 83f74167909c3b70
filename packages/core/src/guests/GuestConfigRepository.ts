import type { ConfigFile, ConfigStore } from '../config/ConfigStore.js';
import { writeSettled } from '../config/writeSettled.js';
import type { GuestType } from '../contracts/hypervisor.js';
import { CorralError, InvalidArgumentError, NotFoundError, ParseError, UnavailableError } from '../errors.js';
import { silentLogger, type Logger } from '../util/Logger.js';
import { parseGuestDocument, serializeGuestDocument, type GuestDocument } from './GuestDocument.js';
import { guestConfigDir, guestConfigPath } from './guestConfigPaths.js';
import type { GuestTypes } from './guestTypes.js';

/** A guest config read from the store. */
export interface StoredGuestConfig {
  readonly vmid: number;
  readonly type: GuestType;
  readonly path: string;
  readonly digest: string;
  readonly doc: GuestDocument;
}

/** One guest of {@link GuestConfigRepository.summaries}. */
export interface GuestSummary {
  readonly vmid: number;
  readonly type: GuestType;
  /** The current section (`{}` when the config cannot be read). Shared: read-only. */
  readonly current: Readonly<Record<string, string>>;
  /**
   * Why the config cannot be used, when it cannot: a `ParseError` naming the file and line, or
   * the store's error (`UnavailableError`) naming the file and the reason it cannot be read.
   */
  readonly error?: CorralError;
}

/** Checks a guest id: an integer from 100 to 999999999 (Proxmox's range). */
export function checkVmid(vmid: number): void {
  if (!Number.isSafeInteger(vmid) || vmid < 100 || vmid > 999_999_999) {
    throw new InvalidArgumentError('vmid', `invalid guest id ${String(vmid)}: an integer from 100 to 999999999`);
  }
}

/**
 * Guest configs of one node in the config store: `nodes/<node>/qemu-server/<vmid>.conf` and
 * `nodes/<node>/lxc/<vmid>.conf`. Reads locate the type; writes are compare-and-set on the
 * digest read. Callers hold the guest lock around read-modify-write.
 */
export class GuestConfigRepository {
  /** Current sections (or parse errors) of listed configs by path, reused while the digest is unchanged. */
  readonly #summaryCache = new Map<string, { digest: string; current: Readonly<Record<string, string>>; error?: CorralError }>();

  /**
   * @param log where a write that reported an error but landed is reported when the caller
   *   gives no logger of its own.
   */
  constructor(
    private readonly store: ConfigStore,
    private readonly node: string,
    private readonly types: GuestTypes,
    private readonly log: Logger = silentLogger,
  ) {}

  /** Store path of a guest's config. */
  path(type: GuestType, vmid: number): string {
    return guestConfigPath(this.node, type, vmid, this.types.get(type).configDir);
  }

  /** Reads a guest config of either type; `null` when none exists. */
  async find(vmid: number): Promise<StoredGuestConfig | null> {
    checkVmid(vmid);
    for (const { type, configDir, configDialect } of this.types.all()) {
      const path = guestConfigPath(this.node, type, vmid, configDir);
      const file = await this.store.read(path);
      if (file) return { vmid, type, path, digest: file.digest, doc: parseGuestDocument(configDialect, file.content, path) };
    }
    return null;
  }

  /** Like {@link find}; throws `NotFoundError` (kind `guest`). */
  async get(vmid: number): Promise<StoredGuestConfig> {
    const found = await this.find(vmid);
    if (!found) throw new NotFoundError('guest', String(vmid), `guest ${vmid} does not exist on node '${this.node}'`);
    return found;
  }

  /**
   * Writes a config; `expectedDigest` null means "must not exist". Returns the new digest.
   *
   * The outcome is decided by what is stored ({@link writeSettled}): an error after the new
   * content landed is a warning to `log` (default: the repository's logger) and the write
   * counts as done; an error before it is rethrown; an outcome that cannot be told is a
   * `WriteOutcomeUnknownError`.
   */
  async write(type: GuestType, vmid: number, doc: GuestDocument, expectedDigest: string | null, log: Logger = this.log): Promise<string> {
    const path = this.path(type, vmid);
    return writeSettled(this.store, path, serializeGuestDocument(doc), { expectedDigest }, (error) =>
      log.warn(`writing config '${path}' reported an error after the new content landed (${error.message}): the change is kept`),
    );
  }

  async delete(type: GuestType, vmid: number, expectedDigest?: string): Promise<void> {
    await this.store.delete(this.path(type, vmid), expectedDigest === undefined ? {} : { expectedDigest });
  }

  /**
   * The current section of every guest config of the node, sorted by vmid (the hot path of
   * guest listings): files are parsed only when their digest changed since the last call.
   * The returned records are shared: read-only. A config that cannot be parsed does not stop
   * the listing: its guest comes with `error` (and an empty `current`), the others as usual.
   */
  async summaries(): Promise<GuestSummary[]> {
    const out: GuestSummary[] = [];
    const seen = new Set<string>();
    for (const { type, configDir, configDialect } of this.types.all()) {
      for (const file of await this.#readConfigs(guestConfigDir(this.node, type, configDir))) {
        const vmid = Number(file.path.slice(file.path.lastIndexOf('/') + 1, -'.conf'.length));
        if (!Number.isSafeInteger(vmid)) continue;
        seen.add(file.path);
        if ('error' in file) {
          this.#summaryCache.delete(file.path);
          out.push({ vmid, type, current: Object.freeze({}), error: file.error });
          continue;
        }
        let hit = this.#summaryCache.get(file.path);
        if (hit?.digest !== file.digest) {
          try {
            hit = { digest: file.digest, current: Object.freeze(parseGuestDocument(configDialect, file.content, file.path).current) };
          } catch (error) {
            const coded = error instanceof CorralError ? error : new ParseError(file.path, String((error as Error)?.message ?? error), undefined, { cause: error });
            hit = { digest: file.digest, current: Object.freeze({}), error: coded };
          }
          this.#summaryCache.set(file.path, hit);
        }
        out.push(hit.error ? { vmid, type, current: hit.current, error: hit.error } : { vmid, type, current: hit.current });
      }
    }
    for (const path of this.#summaryCache.keys()) if (!seen.has(path)) this.#summaryCache.delete(path);
    return out.sort((a, b) => a.vmid - b.vmid);
  }

  /**
   * Every `.conf` file of `dir` in one `readAll` (the hot path); when that fails (a file that
   * cannot be read: EACCES, EIO), file by file, so that only the unreadable ones come back
   * as errors naming the file and the reason.
   */
  async #readConfigs(dir: string): Promise<Array<ConfigFile | { path: string; error: CorralError }>> {
    try {
      return await this.store.readAll(dir, '.conf');
    } catch (listError) {
      const names = (await this.store.list(dir)).filter((n) => n.endsWith('.conf'));
      if (names.length === 0) throw listError;
      const out: Array<ConfigFile | { path: string; error: CorralError }> = [];
      for (const name of names) {
        const path = `${dir}/${name}`;
        try {
          const file = await this.store.read(path);
          if (file) out.push(file);
        } catch (error) {
          const coded =
            error instanceof CorralError ? error : new UnavailableError('config-store', `config '${path}' cannot be read: ${String((error as Error)?.message ?? error)}`, { cause: error });
          out.push({ path, error: coded });
        }
      }
      return out;
    }
  }
}
