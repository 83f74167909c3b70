import type { ConfigStore } from '../config/ConfigStore.js';
import { parseSectionConfig, serializeSectionConfig } from '../formats/sectionConfig.js';

/** One section of storage.cfg. */
export interface StorageSection {
  readonly type: string;
  readonly id: string;
  readonly options: Readonly<Record<string, string>>;
}

/** Path of storage.cfg in the config store. */
export const STORAGE_CFG_PATH = 'storage.cfg';

/**
 * storage.cfg (Proxmox section config) and the private per-storage secrets file
 * (`priv/storage/<id>.json`, as Proxmox keeps passwords and keyrings out of storage.cfg).
 */
export class StorageConfigFile {
  constructor(private readonly store: ConfigStore) {}

  /** The sections and the digest to write against. Missing file: no sections. */
  async read(): Promise<{ sections: StorageSection[]; digest: string | null }> {
    const file = await this.store.read(STORAGE_CFG_PATH);
    if (!file) return { sections: [], digest: null };
    const sections = parseSectionConfig(file.content, { source: STORAGE_CFG_PATH }).map((s) => ({ type: s.type, id: s.id, options: { ...s.options } }));
    return { sections, digest: file.digest };
  }

  /** Writes the sections with compare-and-set on `digest` (`DigestMismatchError` when it lost). */
  async write(sections: readonly StorageSection[], digest: string | null): Promise<void> {
    await this.store.write(STORAGE_CFG_PATH, serializeSectionConfig(sections), { expectedDigest: digest });
  }

  async readSecrets(id: string): Promise<Record<string, string>> {
    const file = await this.store.read(`priv/storage/${id}.json`);
    return file ? (JSON.parse(file.content) as Record<string, string>) : {};
  }

  async writeSecrets(id: string, secrets: Readonly<Record<string, string>>): Promise<void> {
    await this.store.write(`priv/storage/${id}.json`, `${JSON.stringify(secrets)}\n`);
  }

  async deleteSecrets(id: string): Promise<void> {
    await this.store.delete(`priv/storage/${id}.json`);
  }
}
