import type { ConfigStore } from '../config/ConfigStore.js';
import { NotFoundError, ParseError, type CorralError } from '../errors.js';
import { readSectionConfig, serializeSectionConfig, type InvalidSection } from '../formats/sectionConfig.js';
import { STORAGE_ID_PATTERN } from './volumeId.js';

/** One section of storage.cfg. */
export interface StorageSection {
  readonly type: string;
  readonly id: string;
  readonly options: Readonly<Record<string, string>>;
}

/**
 * A section of storage.cfg that cannot be used: it does not parse (bad header, option or
 * value), repeats an id, or its id is not a storage id. `id` and `type` are there when the
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
function splitStorageConfig(content: string): { sections: StorageSection[]; broken: BrokenStorageSection[]; keep: InvalidSection[] } {
  const { sections: all, invalid } = readSectionConfig(content, { source: STORAGE_CFG_PATH });
  const sections: StorageSection[] = [];
  const keep: InvalidSection[] = [...invalid];
  // Invalid parts make their error when asked for it: there may be many.
  const broken: BrokenStorageSection[] = [...invalid];
  for (const s of all) {
    if (STORAGE_ID_PATTERN.test(s.id)) {
      sections.push({ type: s.type, id: s.id, options: { ...s.options } });
      continue;
    }
    const error = new ParseError(STORAGE_CFG_PATH, `'${s.id}' is not a valid storage id (a letter, then letters, digits, '-', '_', '.', ending with a letter or digit)`);
    broken.push({ id: s.id, type: s.type, error });
    keep.push({ line: 0, type: s.type, id: s.id, text: serializeSectionConfig([s]).trimEnd(), error });
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
  constructor(private readonly store: ConfigStore) {}

  /**
   * The sections and the digest to write against. Missing file: no sections.
   * @throws ParseError only for a file larger than `CONFIG_LIMITS.fileBytes`.
   */
  async read(): Promise<StorageConfigSnapshot> {
    const file = await this.store.read(STORAGE_CFG_PATH);
    if (!file) return { sections: [], broken: [], digest: null };
    const { sections, broken } = splitStorageConfig(file.content);
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
    const keep = file && file.digest === digest ? splitStorageConfig(file.content).keep : [];
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
