/**
 * Small helpers to read and change the entries of a guest config section
 * ({@link GuestConfigSection}) in place, keeping the order of the other entries, and to read
 * and write the pending section's `delete:` list.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from '../errors.js';
import type { GuestConfigSection } from './guestConfig.js';

/** The value of `key` in the section, or `undefined`. For repeated `lxc.*` keys: the first. */
export function getConfigValue(section: GuestConfigSection, key: string): string | undefined {
  return section.entries.find((e) => e.key === key)?.value;
}

/**
 * Sets `key` to `value`: replaces the value in place when the key exists (the first entry
 * for a repeated `lxc.*` key), else appends the entry at the end.
 */
export function setConfigValue(section: GuestConfigSection, key: string, value: string): void {
  const entry = section.entries.find((e) => e.key === key);
  if (entry) entry.value = value;
  else section.entries.push({ key, value });
}

/** Removes every entry of `key`. Returns whether one was there. */
export function deleteConfigValue(section: GuestConfigSection, key: string): boolean {
  const before = section.entries.length;
  section.entries = section.entries.filter((e) => e.key !== key);
  return section.entries.length !== before;
}

/** One key of a pending `delete:` list; `force` is the `!` prefix (delete even if in use). */
export interface PendingDeletion {
  readonly key: string;
  readonly force: boolean;
}

/**
 * Parses a pending `delete:` value (`net1,!ide2`) as qemu-server's `split_flagged_list`:
 * separators are `,`, `;` and white space; a leading `!` marks a forced deletion. A key given
 * twice keeps its last flag.
 *
 * @throws InvalidConfigError (`key` = `delete`) for an entry that is only `!`.
 */
export function parsePendingDelete(value: string): PendingDeletion[] {
  const out = new Map<string, boolean>();
  for (const item of value.split(/[,;\s]+/)) {
    if (item === '') continue;
    const force = item.startsWith('!');
    const key = force ? item.slice(1) : item;
    if (key === '') throw new InvalidConfigError('delete', value, `invalid pending deletion list '${value}': '!' without a key`);
    out.delete(key);
    out.set(key, force);
  }
  return [...out].map(([key, force]) => ({ key, force }));
}

/** Prints a pending deletion list as Proxmox writes it: keys joined by `,`, forced ones with `!`. */
export function formatPendingDelete(deletions: readonly PendingDeletion[]): string {
  return deletions.map((d) => (d.force ? `!${d.key}` : d.key)).join(',');
}
