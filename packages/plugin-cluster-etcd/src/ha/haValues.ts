/**
 * Value checks shared by the HA configuration files (`ha/resources.cfg`, `ha/groups.cfg`,
 * `ha/rules.cfg`), following pve-ha-manager's schema (`PVE::HA::Tools`).
 *
 * @packageDocumentation
 */
import { ParseError, readSectionConfig, serializeSectionConfig, splitList, type ConfigSection, type SectionPosition } from '@corral/core';

/** At most this many nodes in one `nodes` list and this many resources in one rule. */
export const HA_LIST_LIMIT = 1024;

/** A node of an HA node list with its priority (`node1:2`; 0 when not written). */
export interface HaNodePriority {
  readonly node: string;
  readonly priority: number;
}

const NODE_RE = /^([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?::(\d{1,9}))?$/;
/** HA resource ids: `vm:100`, `ct:200` (Proxmox also takes a bare VMID and means `vm:`). */
const SID_RE = /^(vm|ct):([1-9][0-9]{1,8})$/;

/** Where an error is: the file, the section's position, the option. */
export interface HaValueContext {
  readonly source: string;
  readonly section: ConfigSection;
  readonly position?: SectionPosition;
}

/** A ParseError naming the file, the option's line (else the section's) and the option. */
export function haOptionError(ctx: HaValueContext, key: string, message: string): ParseError {
  const line = ctx.position?.options[key] ?? ctx.position?.line;
  return new ParseError(ctx.source, `section '${ctx.section.type}: ${ctx.section.id}': option '${key}': ${message}`, line);
}

/**
 * Reads a Proxmox boolean (`1`/`0`, `yes`/`no`, `on`/`off`, `true`/`false`); a key written
 * alone (`\tdisable`) is true, as Proxmox's section-config reader takes it.
 */
export function parseHaBoolean(ctx: HaValueContext, key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === '' || v === '1' || v === 'yes' || v === 'on' || v === 'true') return true;
  if (v === '0' || v === 'no' || v === 'off' || v === 'false') return false;
  throw haOptionError(ctx, key, `'${value.slice(0, 40)}' is not a boolean`);
}

/** Reads a non-negative integer of at most 9 digits. */
export function parseHaCount(ctx: HaValueContext, key: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw haOptionError(ctx, key, `'${value.slice(0, 40)}' is not a non-negative integer`);
  return Number(value);
}

/** Reads a node list `node1:2,node2` (Proxmox's `pve-ha-node-list`); at most {@link HA_LIST_LIMIT} nodes, none twice. */
export function parseHaNodeList(ctx: HaValueContext, key: string, value: string): HaNodePriority[] {
  const items = splitList(value);
  if (items.length === 0) throw haOptionError(ctx, key, 'the node list is empty');
  if (items.length > HA_LIST_LIMIT) throw haOptionError(ctx, key, `more than ${HA_LIST_LIMIT} nodes`);
  const seen = new Set<string>();
  return items.map((item) => {
    const m = NODE_RE.exec(item);
    if (!m) throw haOptionError(ctx, key, `'${item.slice(0, 70)}' is not a node name with an optional :priority`);
    if (seen.has(m[1]!)) throw haOptionError(ctx, key, `node '${m[1]}' is listed twice`);
    seen.add(m[1]!);
    return { node: m[1]!, priority: m[2] === undefined ? 0 : Number(m[2]) };
  });
}

/** Writes a node list; a priority of 0 is written only when `explicitZero` names the node. */
export function formatHaNodeList(nodes: readonly HaNodePriority[], explicit?: ReadonlySet<string>): string {
  return nodes.map((n) => (n.priority === 0 && !explicit?.has(n.node) ? n.node : `${n.node}:${n.priority}`)).join(',');
}

/** Nodes written with an explicit priority in `value` (so that `node1:0` is written back as such). */
export function explicitPriorities(value: string): Set<string> {
  return new Set(splitList(value).filter((i) => i.includes(':')).map((i) => i.slice(0, i.indexOf(':'))));
}

/** Checks an HA resource id (`vm:100`, `ct:200`); returns its type and VMID, or `undefined`. */
export function splitHaSid(sid: string): { type: 'vm' | 'ct'; vmid: number } | undefined {
  const m = SID_RE.exec(sid);
  return m ? { type: m[1] as 'vm' | 'ct', vmid: Number(m[2]) } : undefined;
}

/** Reads a resource list `vm:101,ct:102` (rules); at most {@link HA_LIST_LIMIT}, none twice. */
export function parseHaSidList(ctx: HaValueContext, key: string, value: string): string[] {
  const items = splitList(value);
  if (items.length === 0) throw haOptionError(ctx, key, 'the resource list is empty');
  if (items.length > HA_LIST_LIMIT) throw haOptionError(ctx, key, `more than ${HA_LIST_LIMIT} resources`);
  const seen = new Set<string>();
  for (const sid of items) {
    if (!splitHaSid(sid)) throw haOptionError(ctx, key, `'${sid.slice(0, 70)}' is not a resource id such as vm:100 or ct:200`);
    if (seen.has(sid)) throw haOptionError(ctx, key, `resource '${sid}' is listed twice`);
    seen.add(sid);
  }
  return items;
}

/** Checks that a section has every option in `required` (Proxmox's `optional => 0`). */
export function requireHaOptions(ctx: HaValueContext, required: readonly string[]): void {
  for (const key of required) {
    if (!(key in ctx.section.options)) {
      throw new ParseError(ctx.source, `section '${ctx.section.type}: ${ctx.section.id}': missing option '${key}'`, ctx.position?.line);
    }
  }
}

/** A comment: at most 4096 characters, as Proxmox's schema. */
export function parseHaComment(ctx: HaValueContext, key: string, value: string): string {
  if (value.length > 4096) throw haOptionError(ctx, key, 'longer than 4096 characters');
  return value;
}

/**
 * Reads an HA section-config file with core's reader and turns each section into an entry with
 * `fromSection`; refuses the whole file at its first unreadable part.
 *
 * @throws ParseError from core's reader (naming file and line) or from `fromSection`.
 */
export function readHaSections<T>(text: string, source: string, fromSection: (ctx: HaValueContext) => T): T[] {
  const content = readSectionConfig(text, { source });
  const bad = content.invalid[0];
  if (bad) throw bad.error;
  return content.sections.map((section) => fromSection({ source, section, position: content.positions.get(section) }));
}

/**
 * Writes entries as an HA section-config file: each entry's section (`toSection`) is first
 * read back with `fromSection`, so that nothing is written that would not read back.
 *
 * @throws ParseError from `fromSection`; InvalidConfigError from core's writer.
 */
export function writeHaSections<T>(entries: readonly T[], source: string, toSection: (entry: T) => ConfigSection, fromSection: (ctx: HaValueContext) => unknown): string {
  const sections = entries.map(toSection);
  for (const section of sections) fromSection({ source, section });
  return serializeSectionConfig(sections);
}
