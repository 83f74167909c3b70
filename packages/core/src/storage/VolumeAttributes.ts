import type { ConfigStore } from '../config/ConfigStore.js';

/** Per-volume attributes kept by the facade for every storage type. */
export interface VolumeAttributeValues {
  /** Free text. */
  readonly notes: string;
  /** A protected volume cannot be freed. */
  readonly protected: boolean;
}

type AttributeMap = Record<string, Partial<VolumeAttributeValues>>;

const MAX_CAS_RETRIES = 20;

/**
 * Volume notes and protection, stored per storage in the config store
 * (`storage-attributes/<storeid>.json`) so they work on every backend and are cluster-wide
 * when the config store is. Updates are compare-and-set with retry.
 */
export class VolumeAttributes {
  constructor(private readonly store: ConfigStore) {}

  #path(storage: string): string {
    return `storage-attributes/${storage}.json`;
  }

  async #read(storage: string): Promise<{ map: AttributeMap; digest: string | null }> {
    const file = await this.store.read(this.#path(storage));
    return file ? { map: JSON.parse(file.content) as AttributeMap, digest: file.digest } : { map: {}, digest: null };
  }

  async get(storage: string, volname: string): Promise<VolumeAttributeValues> {
    const { map } = await this.#read(storage);
    const v = map[volname] ?? {};
    return { notes: v.notes ?? '', protected: v.protected ?? false };
  }

  async set(storage: string, volname: string, values: Partial<VolumeAttributeValues>): Promise<void> {
    await this.#update(storage, (map) => {
      const next = { ...map[volname], ...values };
      if (!next.notes && !next.protected) delete map[volname];
      else map[volname] = next;
    });
  }

  /** Moves a volume's attributes to its new name (a volume turned into a base is renamed). */
  async rename(storage: string, from: string, to: string): Promise<void> {
    await this.#update(storage, (map) => {
      if (!map[from]) return;
      map[to] = map[from]!;
      delete map[from];
    });
  }

  async remove(storage: string, volname: string): Promise<void> {
    await this.#update(storage, (map) => {
      delete map[volname];
    });
  }

  async #update(storage: string, change: (map: AttributeMap) => void): Promise<void> {
    for (let i = 0; ; i++) {
      const { map, digest } = await this.#read(storage);
      const before = JSON.stringify(map);
      change(map);
      if (JSON.stringify(map) === before) return;
      try {
        await this.store.write(this.#path(storage), `${JSON.stringify(map, null, 1)}\n`, { expectedDigest: digest });
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== 'CORRAL_ERR_DIGEST_MISMATCH' || i >= MAX_CAS_RETRIES) throw err;
      }
    }
  }
}
