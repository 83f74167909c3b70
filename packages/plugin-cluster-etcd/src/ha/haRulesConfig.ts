/**
 * `ha/rules.cfg`: HA rules (Proxmox VE 9, `PVE::HA::Rules` with its `node-affinity` and
 * `resource-affinity` plugins), in Proxmox's section-config format:
 *
 * ```text
 * node-affinity: keep-on-node1
 * \tresources vm:101,vm:102
 * \tnodes node1:2,node2
 * \tstrict 1
 *
 * resource-affinity: apart
 * \tresources vm:101,vm:102
 * \taffinity negative
 *
 * ```
 *
 * Only the file and its model: checking rules against each other (Proxmox's feasibility
 * checks) is not done here.
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
  parseHaSidList,
  requireHaOptions,
  type HaNodePriority,
  type HaValueContext,
  readHaSections,
  writeHaSections,
} from './haValues.js';
import { HA_GROUP_ID_RE } from './haGroupsConfig.js';

/** Path of the file in the config store, as in `/etc/pve/ha/rules.cfg`. */
export const HA_RULES_PATH = 'ha/rules.cfg';

/** Fields both rule types have. Options not written are absent (default: disable `false`). */
interface HaRuleCommon {
  readonly rule: string;
  resources: string[];
  disable?: boolean;
  comment?: string;
}

/** Keeps resources on (strict) or prefers (not strict, the default) the listed nodes. */
export interface HaNodeAffinityRule extends HaRuleCommon {
  readonly type: 'node-affinity';
  nodes: HaNodePriority[];
  strict?: boolean;
}

/** Keeps resources together (`positive`) or apart (`negative`). */
export interface HaResourceAffinityRule extends HaRuleCommon {
  readonly type: 'resource-affinity';
  affinity: 'positive' | 'negative';
}

/** One rule of `ha/rules.cfg`; present options keep file order. */
export type HaRuleEntry = HaNodeAffinityRule | HaResourceAffinityRule;

const explicitZero = new WeakMap<HaNodePriority[], Set<string>>();

function ruleFromSection(ctx: HaValueContext): HaRuleEntry {
  const { section } = ctx;
  if (section.type !== 'node-affinity' && section.type !== 'resource-affinity') {
    throw new ParseError(ctx.source, `section '${section.type}: ${section.id}': unknown rule type '${section.type}' (node-affinity, resource-affinity)`, ctx.position?.line);
  }
  if (!HA_GROUP_ID_RE.test(section.id)) throw new ParseError(ctx.source, `section '${section.type}: ${section.id}': not a rule id`, ctx.position?.line);
  requireHaOptions(ctx, section.type === 'node-affinity' ? ['resources', 'nodes'] : ['resources', 'affinity']);
  const rule = { type: section.type, rule: section.id } as Record<string, unknown>;
  for (const [key, value] of Object.entries(section.options)) {
    if (key === 'resources') rule.resources = parseHaSidList(ctx, key, value);
    else if (key === 'disable') rule.disable = parseHaBoolean(ctx, key, value);
    else if (key === 'comment') rule.comment = parseHaComment(ctx, key, value);
    else if (section.type === 'node-affinity' && key === 'nodes') {
      const nodes = parseHaNodeList(ctx, key, value);
      explicitZero.set(nodes, explicitPriorities(value));
      rule.nodes = nodes;
    } else if (section.type === 'node-affinity' && key === 'strict') rule.strict = parseHaBoolean(ctx, key, value);
    else if (section.type === 'resource-affinity' && key === 'affinity') {
      if (value !== 'positive' && value !== 'negative') throw haOptionError(ctx, key, `'${value.slice(0, 40)}' is not positive or negative`);
      rule.affinity = value;
    } else throw haOptionError(ctx, key, 'unknown option');
  }
  return rule as unknown as HaRuleEntry;
}

/**
 * Parses `ha/rules.cfg`.
 *
 * @throws ParseError (code `parse`, naming file, 1-based line and option) for a malformed
 *   line, an unknown rule type, a missing required option, a bad resource or node list, a bad
 *   boolean or affinity, an unknown option, or a rule id given twice.
 */
export function parseHaRules(text: string, source = HA_RULES_PATH): HaRuleEntry[] {
  return readHaSections(text, source, ruleFromSection);
}

function sectionOfRule(rule: HaRuleEntry): ConfigSection {
  const options: Record<string, string> = {};
  for (const [field, value] of Object.entries(rule)) {
    if (field === 'type' || field === 'rule' || value === undefined) continue;
    if (field === 'nodes') options.nodes = formatHaNodeList(value as HaNodePriority[], explicitZero.get(value as HaNodePriority[]));
    else if (field === 'resources') options.resources = (value as string[]).join(',');
    else if (typeof value === 'boolean') options[field] = value ? '1' : '0';
    else options[field] = String(value);
  }
  return { type: rule.type, id: rule.rule, options };
}

/**
 * Writes `ha/rules.cfg` as Proxmox does; a file {@link parseHaRules} read comes back byte for
 * byte when it was in Proxmox's written shape (tabs, booleans `1`/`0`, no `#` comments).
 *
 * @throws ParseError for a rule that would not read back.
 * @throws InvalidConfigError from core's writer (duplicate rule id, forbidden character).
 */
export function serializeHaRules(rules: readonly HaRuleEntry[]): string {
  return writeHaSections(rules, HA_RULES_PATH, sectionOfRule, ruleFromSection);
}
