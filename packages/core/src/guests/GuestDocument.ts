/**
 * A whole guest `.conf` as the guest facade works on it: the current section, the
 * `[PENDING]` changes and the `[snapshot]` sections, with the text format delegated to
 * `formats/guestConfig`.
 *
 * @packageDocumentation
 */
import type { GuestConfigDialect } from '../contracts/hypervisor.js';
import { InvalidConfigError } from '../errors.js';
import { parseGuestConfig, serializeGuestConfig, type ConfigEntry, type GuestConfig, type GuestConfigSection } from '../formats/guestConfig.js';

/** One snapshot section. */
export interface GuestSnapshotSection {
  readonly name: string;
  /** The config as it was, plus `snaptime`, `parent`, `vmstate`, `description` as Proxmox keeps them. */
  readonly entries: Record<string, string>;
}

/**
 * A guest config file, mutable while an operation holds the guest lock.
 *
 * Sections are flattened to records (key -> raw value). The section description (`#` lines)
 * appears as key `description` (when not empty); a description in `[PENDING]` is not kept. Raw `lxc.*` keys that repeat (`lxc.mount.entry`...) are joined
 * with `\n` into one value and split again when written.
 */
export interface GuestDocument {
  /** The file's dialect (a plugin's guest type is written in one of the two). */
  readonly type: GuestConfigDialect;
  /** Current section, in file order. */
  current: Record<string, string>;
  /** `[PENDING]` values. */
  pending: Record<string, string>;
  /** Keys `[PENDING]` deletes (its `delete:` key; `!` forced deletions keep their `!`). */
  pendingDelete: string[];
  /** Snapshot sections in file order. */
  snapshots: GuestSnapshotSection[];
  /** Special sections (`[special:cloudinit]`), kept as read. */
  readonly special: GuestConfig['special'];
}

function toRecord(section: GuestConfigSection | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!section) return out;
  // An empty description (`#` lines with nothing on them) is no description: it is not written back.
  if (section.description) out.description = section.description;
  for (const { key, value } of section.entries) out[key] = key in out && key.startsWith('lxc.') ? `${out[key]}\n${value}` : value;
  return out;
}

function toSection(record: Record<string, string>): GuestConfigSection {
  const { description, ...rest } = record;
  const entries: ConfigEntry[] = [];
  for (const [key, value] of Object.entries(rest)) {
    if (key.startsWith('lxc.')) for (const v of value.split('\n')) entries.push({ key, value: v });
    else entries.push({ key, value });
  }
  return description === undefined ? { entries } : { description, entries };
}

/** Parses a config file's text. Throws `ParseError` naming the line. */
export function parseGuestDocument(type: GuestConfigDialect, text: string, source: string): GuestDocument {
  const raw = parseGuestConfig(text, { type, source });
  const pending = toRecord(raw.pending);
  const pendingDelete = (pending.delete ?? '')
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  delete pending.delete;
  delete pending.description;
  return {
    type,
    current: toRecord(raw),
    pending,
    pendingDelete,
    snapshots: [...raw.snapshots].map(([name, section]) => ({ name, entries: toRecord(section) })),
    special: raw.special,
  };
}

/** Serializes a document back to `.conf` text in Proxmox's layout. */
export function serializeGuestDocument(doc: GuestDocument): string {
  const main = toSection(doc.current);
  const pendingRecord: Record<string, string> = { ...doc.pending };
  if (doc.pendingDelete.length > 0) pendingRecord.delete = doc.pendingDelete.join(',');
  const model: GuestConfig = {
    type: doc.type,
    ...main,
    pending: Object.keys(pendingRecord).length > 0 ? toSection(pendingRecord) : undefined,
    special: doc.special,
    snapshots: new Map(doc.snapshots.map((s) => [s.name, toSection(s.entries)])),
  };
  return serializeGuestConfig(model);
}

/** A new, empty document. */
export function emptyGuestDocument(type: GuestConfigDialect): GuestDocument {
  return parseGuestDocument(type, '', 'new');
}

/** Keys only Corral itself writes: the persistent lock and the snapshot bookkeeping. */
export const READ_ONLY_KEYS: readonly string[] = ['lock', 'parent', 'snaptime', 'vmstate', 'snapstate', 'digest'];

/** Keys a snapshot section adds to the config copy it holds. */
export const SNAPSHOT_META_KEYS: readonly string[] = ['snaptime', 'vmstate', 'snapstate', 'runningmachine', 'runningcpu'];

/**
 * Refuses a change (create or update) that sets or deletes a key only Corral writes.
 *
 * @throws InvalidConfigError naming the key.
 */
export function checkWritableKeys(keys: readonly string[], values: Readonly<Record<string, string>>): void {
  for (const k of keys) {
    if (READ_ONLY_KEYS.includes(k)) throw new InvalidConfigError(k, values[k], `'${k}' cannot be set or deleted directly`);
  }
}
