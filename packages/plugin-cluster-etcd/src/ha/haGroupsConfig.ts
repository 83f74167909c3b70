/**
 * `ha/groups.cfg`: HA groups in Proxmox's section-config format (`PVE::HA::Groups`):
 *
 * ```text
 * group: prefer-node1
 * \tnodes node1:2,node2
 * \trestricted 1
 *
 * ```
 *
 * @packageDocumentation
 */
import { ParseError, type ConfigSection } from '@corral/core';
import {
  explicitPriorities,
  formatHaNodeList,
  haOptionError,
  parseHaBoolean,
  parseHaComment,
  parseHaNodeList,
  requireHaOptions,
  type HaNodePriority,
  type HaValueContext,
  readHaSections,
  writeHaSections,
} from './haValues.js';

/** Path of the file in the config store, as in `/etc/pve/ha/groups.cfg`. */
export const HA_GROUPS_PATH = 'ha/groups.cfg';

/** A group id (Proxmox's `pve-configid`). */
export const HA_GROUP_ID_RE = /^[a-z][a-z0-9_-]+$/i;

/**
 * One HA group. `nodes` is required; options not written are absent (defaults: restricted
 * `false`, nofailback `false`); present ones keep file order.
 */
export interface HaGroupEntry {
  readonly group: string;
  nodes: HaNodePriority[];
  restricted?: boolean;
  nofailback?: boolean;
  comment?: string;
}

/** Nodes written as `node:0` per group, so that writing them back keeps the text. */
const explicitZero = new WeakMap<HaNodePriority[], Set<string>>();

function entryFromSection(ctx: HaValueContext): HaGroupEntry {
  const { section } = ctx;
  if (section.type !== 'group') throw new ParseError(ctx.source, `section '${section.type}: ${section.id}': unknown section type '${section.type}' (only 'group')`, ctx.position?.line);
  if (!HA_GROUP_ID_RE.test(section.id)) throw new ParseError(ctx.source, `section 'group: ${section.id}': not a group id`, ctx.position?.line);
  requireHaOptions(ctx, ['nodes']);
  const entry = { group: section.id } as HaGroupEntry;
  for (const [key, value] of Object.entries(section.options)) {
    switch (key) {
      case 'nodes':
        entry.nodes = parseHaNodeList(ctx, key, value);
        explicitZero.set(entry.nodes, explicitPriorities(value));
        break;
      case 'restricted':
      case 'nofailback':
        entry[key] = parseHaBoolean(ctx, key, value);
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
 * Parses `ha/groups.cfg`.
 *
 * @throws ParseError (code `parse`, naming file, 1-based line and option) for a malformed
 *   line, a section other than `group: <id>`, a missing `nodes`, a bad node list (bad name,
 *   node twice, more than 1024), a bad boolean, an unknown option, or a group given twice.
 */
export function parseHaGroups(text: string, source = HA_GROUPS_PATH): HaGroupEntry[] {
  return readHaSections(text, source, entryFromSection);
}

function sectionOfEntry(entry: HaGroupEntry): ConfigSection {
  const options: Record<string, string> = {};
  for (const [field, value] of Object.entries(entry)) {
    if (field === 'group' || value === undefined) continue;
    if (field === 'nodes') options.nodes = formatHaNodeList(value as HaNodePriority[], explicitZero.get(value as HaNodePriority[]));
    else if (typeof value === 'boolean') options[field] = value ? '1' : '0';
    else options[field] = String(value);
  }
  return { type: 'group', id: entry.group, options };
}

/**
 * Writes `ha/groups.cfg` as Proxmox does; a file {@link parseHaGroups} read comes back byte for
 * byte when it was in Proxmox's written shape (tabs, booleans `1`/`0`, no comments).
 *
 * @throws ParseError for an entry that would not read back (bad id, node list or field).
 * @throws InvalidConfigError from core's writer (duplicate group, forbidden character).
 */
export function serializeHaGroups(entries: readonly HaGroupEntry[]): string {
  return writeHaSections(entries, HA_GROUPS_PATH, sectionOfEntry, entryFromSection);
}
