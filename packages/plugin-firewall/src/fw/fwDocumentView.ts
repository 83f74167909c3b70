/**
 * Read-only views of an {@link FwDocument} by meaning rather than by line: the options, the
 * rules, the ipsets, aliases and security groups, as pve-firewall's loaded configuration holds
 * them (names of ipsets, aliases and groups in lower case; a later option line wins).
 *
 * @packageDocumentation
 */
import type { FwDocument, FwRule } from './fwDocument.js';

/** An ipset entry by meaning. */
export interface FwIpsetEntryValue {
  readonly nomatch: boolean;
  readonly cidr: string;
  readonly comment?: string;
}

/** An ipset by meaning. */
export interface FwIpsetValue {
  /** The name as written in its header. */
  readonly name: string;
  readonly comment?: string;
  readonly entries: readonly FwIpsetEntryValue[];
}

/** A security group by meaning. */
export interface FwGroupValue {
  readonly name: string;
  readonly comment?: string;
  readonly rules: readonly FwRule[];
}

/** An alias by meaning. */
export interface FwAliasValue {
  readonly name: string;
  readonly cidr: string;
  readonly comment?: string;
}

/** The options set in `[OPTIONS]` (all such sections), by lower-case name; a later line wins. */
export function fwOptionValues(doc: FwDocument): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const s of doc.sections) if (s.type === 'options') for (const l of s.lines) if (l.type === 'option') out[l.name] = l.value;
  return out;
}

/** The rules of `[RULES]` (all such sections), in file order, disabled ones included. */
export function fwRules(doc: FwDocument): readonly FwRule[] {
  const out: FwRule[] = [];
  for (const s of doc.sections) if (s.type === 'rules') for (const l of s.lines) if (l.type === 'rule') out.push(l.rule);
  return out;
}

/** The ipsets, by lower-case name. */
export function fwIpsets(doc: FwDocument): Readonly<Record<string, FwIpsetValue>> {
  const out: Record<string, FwIpsetValue> = {};
  for (const s of doc.sections) {
    if (s.type !== 'ipset' || s.name === undefined) continue;
    const entries: FwIpsetEntryValue[] = [];
    for (const l of s.lines) if (l.type === 'ipset-entry') entries.push({ nomatch: l.nomatch, cidr: l.cidr, ...(l.comment !== undefined ? { comment: l.comment } : {}) });
    out[s.name.toLowerCase()] = { name: s.name, entries, ...(s.comment !== undefined ? { comment: s.comment } : {}) };
  }
  return out;
}

/** The security groups (`cluster.fw`), by lower-case name. */
export function fwGroups(doc: FwDocument): Readonly<Record<string, FwGroupValue>> {
  const out: Record<string, FwGroupValue> = {};
  for (const s of doc.sections) {
    if (s.type !== 'group' || s.name === undefined) continue;
    const rules: FwRule[] = [];
    for (const l of s.lines) if (l.type === 'rule') rules.push(l.rule);
    out[s.name.toLowerCase()] = { name: s.name, rules, ...(s.comment !== undefined ? { comment: s.comment } : {}) };
  }
  return out;
}

/** The aliases, by lower-case name. */
export function fwAliases(doc: FwDocument): Readonly<Record<string, FwAliasValue>> {
  const out: Record<string, FwAliasValue> = {};
  for (const s of doc.sections) {
    if (s.type !== 'aliases') continue;
    for (const l of s.lines) if (l.type === 'alias') out[l.name.toLowerCase()] = { name: l.name, cidr: l.cidr, ...(l.comment !== undefined ? { comment: l.comment } : {}) };
  }
  return out;
}
