/**
 * `ha/resources.cfg`: the guests under HA, in Proxmox's section-config format
 * (`PVE::HA::Resources` with its `vm` and `ct` plugins):
 *
 * ```text
 * vm: 100
 * \tstate started
 * \tmax_restart 2
 *
 * ```
 *
 * @packageDocumentation
 */
import { ParseError, type ConfigSection, type HaResource, type HaState } from '@corral/core';
import { haOptionError, parseHaBoolean, parseHaComment, parseHaCount, splitHaSid, type HaValueContext, readHaSections, writeHaSections } from './haValues.js';

/** Path of the file in the config store, as in `/etc/pve/ha/resources.cfg`. */
export const HA_RESOURCES_PATH = 'ha/resources.cfg';

/** A requested state as written; `enabled` is Proxmox's alias of `started`. */
export type HaStateWritten = HaState | 'enabled';

/**
 * One entry of `resources.cfg`. Options not written are absent (their defaults: state
 * `started`, failback `true`, max_restart 1, max_relocate 1); present ones keep file order.
 */
export interface HaResourceEntry {
  /** `vm:100` or `ct:200`. */
  readonly sid: string;
  state?: HaStateWritten;
  group?: string;
  failback?: boolean;
  maxRestart?: number;
  maxRelocate?: number;
  comment?: string;
}

const STATES: readonly string[] = ['started', 'stopped', 'enabled', 'disabled', 'ignored'];
const GROUP_RE = /^[a-z][a-z0-9_-]+$/i;
const KEY_TO_FIELD = { state: 'state', group: 'group', failback: 'failback', max_restart: 'maxRestart', max_relocate: 'maxRelocate', comment: 'comment' } as const;
type Field = (typeof KEY_TO_FIELD)[keyof typeof KEY_TO_FIELD];
const FIELD_TO_KEY = Object.fromEntries(Object.entries(KEY_TO_FIELD).map(([k, f]) => [f, k])) as Record<Field, string>;

function entryFromSection(ctx: HaValueContext): HaResourceEntry {
  const { section } = ctx;
  const sid = `${section.type}:${section.id}`;
  if (!splitHaSid(sid)) {
    throw new ParseError(ctx.source, `section '${section.type}: ${section.id}': not a resource id such as 'vm: 100' or 'ct: 200'`, ctx.position?.line);
  }
  const entry: HaResourceEntry = { sid };
  for (const [key, value] of Object.entries(section.options)) {
    switch (key) {
      case 'state':
        if (!STATES.includes(value)) throw haOptionError(ctx, key, `'${value.slice(0, 40)}' is not one of ${STATES.join(', ')}`);
        entry.state = value as HaStateWritten;
        break;
      case 'group':
        if (!GROUP_RE.test(value) || value.length > 128) throw haOptionError(ctx, key, `'${value.slice(0, 40)}' is not a group id`);
        entry.group = value;
        break;
      case 'failback':
        entry.failback = parseHaBoolean(ctx, key, value);
        break;
      case 'max_restart':
        entry.maxRestart = parseHaCount(ctx, key, value);
        break;
      case 'max_relocate':
        entry.maxRelocate = parseHaCount(ctx, key, value);
        break;
      case 'comment':
        entry.comment = parseHaComment(ctx, key, value);
        break;
      default:
        throw haOptionError(ctx, key, 'unknown option');
    }
  }
  return entry;
}

/**
 * Parses `ha/resources.cfg`, refusing anything Proxmox would not read.
 *
 * @param source File name named in errors. Default {@link HA_RESOURCES_PATH}.
 * @throws ParseError (code `parse`, naming file, 1-based line and option) for a malformed line,
 *   a section that is not `vm: <vmid>` / `ct: <vmid>`, an unknown option, a bad value, a
 *   resource given twice, or a file past core's `CONFIG_LIMITS`.
 */
export function parseHaResources(text: string, source = HA_RESOURCES_PATH): HaResourceEntry[] {
  return readHaSections(text, source, entryFromSection);
}

/** The section of an entry (options in the entry's key order). */
function sectionOfEntry(entry: HaResourceEntry): ConfigSection {
  const sid = splitHaSid(entry.sid);
  if (!sid) throw new ParseError(HA_RESOURCES_PATH, `'${String(entry.sid).slice(0, 40)}' is not a resource id such as vm:100 or ct:200`);
  const options: Record<string, string> = {};
  for (const [field, value] of Object.entries(entry)) {
    if (field === 'sid' || value === undefined) continue;
    const key = FIELD_TO_KEY[field as Field];
    if (!key) throw new ParseError(HA_RESOURCES_PATH, `resource '${entry.sid}': unknown field '${field}'`);
    options[key] = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  }
  return { type: sid.type, id: String(sid.vmid), options };
}

/**
 * Writes `ha/resources.cfg` as Proxmox does (`vm: 100` headers, tab-indented options, an empty
 * line after each section). The text of a file {@link parseHaResources} read comes back byte
 * for byte when it was in Proxmox's written shape (tabs, canonical values `1`/`0` and plain
 * decimals, no comments). Each entry is checked as {@link parseHaResources} would.
 *
 * @throws ParseError for an entry that would not read back (bad sid, value or unknown field).
 * @throws InvalidConfigError from core's writer (duplicate sid, forbidden character).
 */
export function serializeHaResources(entries: readonly HaResourceEntry[]): string {
  return writeHaSections(entries, HA_RESOURCES_PATH, sectionOfEntry, entryFromSection);
}

/** The entry with Proxmox's defaults applied, as core's `HaResource` (`enabled` read as `started`). */
export function toHaResource(entry: HaResourceEntry): HaResource {
  const state: HaState = entry.state === undefined || entry.state === 'enabled' ? 'started' : entry.state;
  return {
    sid: entry.sid,
    state,
    ...(entry.group === undefined ? {} : { group: entry.group }),
    maxRestart: entry.maxRestart ?? 1,
    maxRelocate: entry.maxRelocate ?? 1,
  };
}
