import type { ConfigStore } from '../config/ConfigStore.js';
import type { StorageDriverInfo } from '../contracts/storage.js';
import { InvalidConfigError, NotFoundError, ParseError, type CorralError } from '../errors.js';
import { readSectionConfig, serializeSectionConfig, type InvalidSection } from '../formats/sectionConfig.js';
import { storageOptionsProblem } from './storageDefinitions.js';
import { STORAGE_ID_PATTERN } from './volumeId.js';

/** The driver of a storage type, for checking options; `undefined` when no plugin provides it. */
export type StorageTypeLookup = (type: string) => StorageDriverInfo | undefined;

/** One section of storage.cfg. */
export interface StorageSection {
  readonly type: string;
  readonly id: string;
  readonly options: Readonly<Record<string, string>>;
}

/**
 * A section of storage.cfg that cannot be used: it does not parse (bad header, option or
 * value), repeats an id, its id is not a storage id, or an option is not one its type takes or
 * has a value Proxmox or the driver refuses (`ParseError` naming the storage, the option and
 * its line, caused by an `InvalidConfigError` whose `key` is the option). `id` and `type` are there when the
 * header could be read. Writing storage.cfg keeps such sections as they are.
 */
export interface BrokenStorageSection {
  readonly id?: string;
  readonly type?: string;
  /** What is wrong (a `ParseError` naming storage.cfg and the line). */
  readonly error: CorralError;
}

/** storage.cfg as read: the usable sections, the broken ones, and the digest to write against. */
export interface StorageConfigSnapshot {
  readonly sections: StorageSection[];
  readonly broken: BrokenStorageSection[];
  readonly digest: string | null;
}

/** Path of storage.cfg in the config store. */
export const STORAGE_CFG_PATH = 'storage.cfg';

/** The usable sections and the parts to keep of storage.cfg's text. */
function splitStorageConfig(content: string, lookup: StorageTypeLookup): { sections: StorageSection[]; broken: BrokenStorageSection[]; keep: InvalidSection[] } {
  const { sections: all, invalid, positions } = readSectionConfig(content, { source: STORAGE_CFG_PATH });
  const sections: StorageSection[] = [];
  const keep: InvalidSection[] = [...invalid];
  // Invalid parts make their error when asked for it: there may be many.
  const broken: BrokenStorageSection[] = [...invalid];
  for (const s of all) {
    const at = positions.get(s);
    let error: ParseError | undefined;
    if (!STORAGE_ID_PATTERN.test(s.id)) {
      error = new ParseError(STORAGE_CFG_PATH, `'${s.id}' is not a valid storage id (a letter, then letters, digits, '-', '_', '.', ending with a letter or digit)`, at?.line);
    } else {
      const problem = storageOptionsProblem(s.id, s.type, s.options, lookup(s.type));
      if (!problem) {
        sections.push({ type: s.type, id: s.id, options: { ...s.options } });
        continue;
      }
      const line = (problem.value !== undefined ? at?.options[problem.key] : undefined) ?? at?.line;
      error = new ParseError(STORAGE_CFG_PATH, problem.message, line, { cause: new InvalidConfigError(problem.key, problem.value, problem.message) });
    }
    broken.push({ id: s.id, type: s.type, error });
    keep.push({ line: error.line ?? 0, type: s.type, id: s.id, text: at?.text ?? serializeSectionConfig([s]).trimEnd(), error });
  }
  return { sections, broken, keep };
}

/**
 * storage.cfg (Proxmox section config) and the private per-storage secrets file
 * (`priv/storage/<id>.json`, as Proxmox keeps passwords and keyrings out of storage.cfg).
 *
 * A section that cannot be used does not make the others unusable (Proxmox's SectionConfig
 * skips it with a warning): {@link read} returns it in `broken`, {@link requireSection}
 * throws its error when it is asked for, and {@link write} keeps it in the file.
 */
export class StorageConfigFile {
  /**
   * @param lookup The driver of a type, to check its sections' options with (see
   *   `storageOptionsProblem`); a type it does not know is checked against Proxmox's type of
   *   that name only. Default: no driver for any type.
   */
  constructor(
    private readonly store: ConfigStore,
    private readonly lookup: StorageTypeLookup = () => undefined,
  ) {}

  /**
   * The sections and the digest to write against. Missing file: no sections.
   * @throws ParseError only for a file larger than `CONFIG_LIMITS.fileBytes`.
   */
  async read(): Promise<StorageConfigSnapshot> {
    const file = await this.store.read(STORAGE_CFG_PATH);
    if (!file) return { sections: [], broken: [], digest: null };
    const { sections, broken } = splitStorageConfig(file.content, this.lookup);
    return { sections, broken, digest: file.digest };
  }

  /**
   * The section `id` of a snapshot from {@link read}.
   * @throws The section's error when it is broken; `NotFoundError` (kind `storage`) when there is none.
   */
  requireSection(snapshot: StorageConfigSnapshot, id: string): StorageSection {
    const section = snapshot.sections.find((s) => s.id === id);
    if (section) return section;
    const broken = snapshot.broken.find((b) => b.id === id);
    if (broken) throw broken.error;
    throw new NotFoundError('storage', id);
  }

  /**
   * Writes the sections with compare-and-set on `digest` (`DigestMismatchError` when it lost).
   * The broken sections of the file are written back as they are, after the sections, except
   * those whose id is in `options.dropBroken` (removing a broken storage).
   */
  async write(sections: readonly StorageSection[], digest: string | null, options: { dropBroken?: readonly string[] } = {}): Promise<void> {
    const file = digest === null ? null : await this.store.read(STORAGE_CFG_PATH);
    // When the digest differs, the store's compare-and-set refuses the write below anyway.
    const keep = file && file.digest === digest ? splitStorageConfig(file.content, this.lookup).keep : [];
    const drop = new Set(options.dropBroken ?? []);
    const invalid = keep.filter((p) => p.id === undefined || !drop.has(p.id));
    await this.store.write(STORAGE_CFG_PATH, serializeSectionConfig(sections, { invalid }), { expectedDigest: digest });
  }

  /**
   * The secret options of storage `id`; `{}` when it has none.
   * @throws ParseError when the file is not a JSON object of strings.
   */
  async readSecrets(id: string): Promise<Record<string, string>> {
    const path = `priv/storage/${id}.json`;
    const file = await this.store.read(path);
    if (!file) return {};
    let data: unknown;
    try {
      data = JSON.parse(file.content);
    } catch (error) {
      throw new ParseError(path, `not JSON: ${(error as Error).message}`, undefined, { cause: error });
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data) || Object.values(data).some((v) => typeof v !== 'string')) {
      throw new ParseError(path, 'expected a JSON object of strings');
    }
    return data as Record<string, string>;
  }

  async writeSecrets(id: string, secrets: Readonly<Record<string, string>>): Promise<void> {
    await this.store.write(`priv/storage/${id}.json`, `${JSON.stringify(secrets)}\n`);
  }

  async deleteSecrets(id: string): Promise<void> {
    await this.store.delete(`priv/storage/${id}.json`);
  }
}
