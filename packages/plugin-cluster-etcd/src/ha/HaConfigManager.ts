/**
 * An `ha-manager`-like facade over the HA configuration files in a `ConfigStore`: add,
 * change and remove resources, add and remove groups, list what is configured. No daemon:
 * nothing here starts or moves a guest.
 *
 * @packageDocumentation
 */
import { AlreadyExistsError, ConflictError, DigestMismatchError, NotFoundError, type ConfigStore, type HaResource } from '@corral/core';
import { HA_GROUPS_PATH, parseHaGroups, serializeHaGroups, type HaGroupEntry } from './haGroupsConfig.js';
import { HA_RESOURCES_PATH, parseHaResources, serializeHaResources, toHaResource, type HaResourceEntry } from './haResourcesConfig.js';
import { HA_RULES_PATH, parseHaRules, type HaRuleEntry } from './haRulesConfig.js';
import { splitHaSid } from './haValues.js';

/** What the manager needs to know about guests (core's `GuestFacade` fits). */
export interface HaGuestLister {
  list(): Promise<readonly { readonly vmid: number; readonly type: string }[]>;
}

/** Options of {@link HaConfigManager}. */
export interface HaConfigManagerOptions {
  /** When given, a resource is added only for an existing guest of the matching type (`vm` = qemu, `ct` = lxc). */
  readonly guests?: HaGuestLister;
}

/** Changes of {@link HaConfigManager.setResource}: a value sets the option, `null` removes it (back to its default). */
export type HaResourceChange = { [K in Exclude<keyof HaResourceEntry, 'sid'>]?: HaResourceEntry[K] | null };

/** How many times a change is redone when another writer changed the file in between. */
const CAS_ATTEMPTS = 5;

/**
 * Reads and changes `ha/resources.cfg` and `ha/groups.cfg` (and reads `ha/rules.cfg`) in a
 * config store. Every change reads the file, checks, and writes it with compare-and-set on the
 * digest it read (the store writes atomically); when another writer got in between it starts
 * over, at most 5 times, then throws the `DigestMismatchError`. A failed check writes nothing.
 */
export class HaConfigManager {
  constructor(
    private readonly store: ConfigStore,
    private readonly options: HaConfigManagerOptions = {},
  ) {}

  /** The configured resources as written (file order). @throws ParseError for a bad file. */
  async listResources(): Promise<HaResourceEntry[]> {
    const file = await this.store.read(HA_RESOURCES_PATH);
    return file ? parseHaResources(file.content) : [];
  }

  /** The configured resources with defaults applied, as core's `HaResource`. */
  async resources(): Promise<HaResource[]> {
    return (await this.listResources()).map(toHaResource);
  }

  /** The configured groups (file order). @throws ParseError for a bad file. */
  async listGroups(): Promise<HaGroupEntry[]> {
    const file = await this.store.read(HA_GROUPS_PATH);
    return file ? parseHaGroups(file.content) : [];
  }

  /** The configured rules (file order). @throws ParseError for a bad file. */
  async listRules(): Promise<HaRuleEntry[]> {
    const file = await this.store.read(HA_RULES_PATH);
    return file ? parseHaRules(file.content) : [];
  }

  /**
   * Puts a guest under HA (`ha-manager add vm:100`).
   *
   * @throws ParseError for a bad sid or value; AlreadyExistsError (`ha resource`) when the sid
   *   is configured; NotFoundError (`ha group`) for an unknown group, (`guest`) when the
   *   guest lister knows no guest of that VMID and type.
   */
  async addResource(entry: HaResourceEntry): Promise<void> {
    serializeHaResources([entry]);
    await this.checkGuest(entry.sid);
    if (entry.group !== undefined) await this.checkGroup(entry.group);
    await this.change(HA_RESOURCES_PATH, parseHaResources, serializeHaResources, (entries) => {
      if (entries.some((e) => e.sid === entry.sid)) throw new AlreadyExistsError('ha resource', entry.sid);
      return [...entries, { ...entry }];
    });
  }

  /**
   * Changes options of a resource (`ha-manager set`); `null` removes an option.
   *
   * @throws NotFoundError (`ha resource`) when not configured, (`ha group`) for an unknown
   *   group; ParseError for a bad value.
   */
  async setResource(sid: string, change: HaResourceChange): Promise<void> {
    if (typeof change.group === 'string') await this.checkGroup(change.group);
    await this.change(HA_RESOURCES_PATH, parseHaResources, serializeHaResources, (entries) => {
      const index = entries.findIndex((e) => e.sid === sid);
      if (index < 0) throw new NotFoundError('ha resource', sid);
      const next: Record<string, unknown> = { ...entries[index] };
      for (const [field, value] of Object.entries(change)) {
        if (value === null) delete next[field];
        else if (value !== undefined) next[field] = value;
      }
      return entries.map((e, i) => (i === index ? (next as unknown as HaResourceEntry) : e));
    });
  }

  /** Takes a resource out of HA (`ha-manager remove`). @throws NotFoundError (`ha resource`) when not configured. */
  async removeResource(sid: string): Promise<void> {
    await this.change(HA_RESOURCES_PATH, parseHaResources, serializeHaResources, (entries) => {
      if (!entries.some((e) => e.sid === sid)) throw new NotFoundError('ha resource', sid);
      return entries.filter((e) => e.sid !== sid);
    });
  }

  /**
   * Adds a group (`ha-manager groupadd`).
   *
   * @throws ParseError for a bad id or node list; AlreadyExistsError (`ha group`) when it exists.
   */
  async addGroup(entry: HaGroupEntry): Promise<void> {
    serializeHaGroups([entry]);
    await this.change(HA_GROUPS_PATH, parseHaGroups, serializeHaGroups, (groups) => {
      if (groups.some((g) => g.group === entry.group)) throw new AlreadyExistsError('ha group', entry.group);
      return [...groups, { ...entry }];
    });
  }

  /**
   * Removes a group (`ha-manager groupremove`).
   *
   * @throws NotFoundError (`ha group`) when it does not exist; ConflictError when a resource
   *   still names it (as Proxmox refuses).
   */
  async removeGroup(group: string): Promise<void> {
    const users = (await this.listResources()).filter((e) => e.group === group).map((e) => e.sid);
    if (users.length > 0) throw new ConflictError(`ha group '${group}' is used by ${users.join(', ')}`);
    await this.change(HA_GROUPS_PATH, parseHaGroups, serializeHaGroups, (groups) => {
      if (!groups.some((g) => g.group === group)) throw new NotFoundError('ha group', group);
      return groups.filter((g) => g.group !== group);
    });
  }

  private async checkGroup(group: string): Promise<void> {
    if (!(await this.listGroups()).some((g) => g.group === group)) throw new NotFoundError('ha group', group);
  }

  private async checkGuest(sid: string): Promise<void> {
    const lister = this.options.guests;
    const parts = splitHaSid(sid);
    if (!lister || !parts) return;
    const type = parts.type === 'vm' ? 'qemu' : 'lxc';
    const guests = await lister.list();
    if (!guests.some((g) => g.vmid === parts.vmid && g.type === type)) {
      throw new NotFoundError('guest', String(parts.vmid), `no ${type} guest ${parts.vmid} for ha resource '${sid}'`);
    }
  }

  /** Read, change, compare-and-set write; starts over when the file changed in between. */
  private async change<T>(path: string, parse: (text: string) => T[], serialize: (items: readonly T[]) => string, edit: (items: T[]) => T[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const file = await this.store.read(path);
      const next = serialize(edit(file ? parse(file.content) : []));
      try {
        await this.store.write(path, next, { expectedDigest: file ? file.digest : null });
        return;
      } catch (error) {
        if (!(error instanceof DigestMismatchError) || attempt >= CAS_ATTEMPTS) throw error;
      }
    }
  }
}
