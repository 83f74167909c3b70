/**
 * Checking that the ipsets, aliases and security groups a firewall file names are defined,
 * where that can be checked: in `cluster.fw` always, in a guest or host file when its own
 * definitions or the given `cluster.fw` answer.
 *
 * @packageDocumentation
 */
import type { FwDocument } from './fwDocument.js';
import { isFwName } from './fwValues.js';

/** A name a line refers to: `+ipset` (without the `+`), an alias, a security group. */
export interface FwReference {
  readonly line: number;
  readonly what: 'ipset' | 'alias' | 'group';
  /** As written, with its scope (`dc/office`). Alias texts that are addresses are skipped. */
  readonly text: string;
  /** An alias named by an ipset entry (worded so in messages). */
  readonly inIpset?: boolean;
}

interface Names {
  readonly ipsets: ReadonlySet<string>;
  readonly aliases: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
}

/** The ipset, alias and security group names (lower case) a document defines. */
function definedNames(doc: FwDocument): Names {
  const ipsets = new Set<string>();
  const aliases = new Set<string>();
  const groups = new Set<string>();
  for (const s of doc.sections) {
    if (s.type === 'ipset' && s.name !== undefined) ipsets.add(s.name.toLowerCase());
    if (s.type === 'group' && s.name !== undefined) groups.add(s.name.toLowerCase());
    if (s.type === 'aliases') for (const l of s.lines) if (l.type === 'alias') aliases.add(l.name.toLowerCase());
  }
  return { ipsets, aliases, groups };
}

function splitScope(text: string): { scope: string; name: string } {
  const slash = text.indexOf('/');
  return slash > 0 ? { scope: text.slice(0, slash), name: text.slice(slash + 1) } : { scope: '', name: text };
}

/**
 * The first reference (in line order) that is not defined where it can be checked, as a
 * line number and message; undefined when all that can be checked are defined. A `dc/` scope
 * looks in the cluster file only, `guest/` in the file itself only, no scope in both; `sdn/`
 * ipsets are not checked (they live in the SDN configuration).
 */
export function checkFwReferences(doc: FwDocument, refs: readonly FwReference[], cluster?: FwDocument): { line: number; message: string } | undefined {
  const local = definedNames(doc);
  const dc = doc.kind === 'cluster' ? local : cluster ? definedNames(cluster) : undefined;
  for (const ref of refs) {
    const { scope, name } = splitScope(ref.text);
    const lower = name.toLowerCase();
    if (ref.what === 'group') {
      if (dc && !dc.groups.has(lower)) return { line: ref.line, message: `no such security group '${ref.text}'` };
      continue;
    }
    if (ref.what === 'alias' && (!isFwName(name) || (scope !== '' && scope !== 'dc' && scope !== 'guest'))) continue;
    if (scope === 'sdn') continue;
    const table = ref.what === 'ipset' ? 'ipsets' : 'aliases';
    const inLocal = scope !== 'dc' && local[table].has(lower);
    if (inLocal) continue;
    const inDc = scope !== 'guest' && dc !== undefined && dc[table].has(lower);
    if (inDc) continue;
    const checkable = scope === 'guest' || doc.kind === 'cluster' || dc !== undefined;
    if (checkable) {
      const what = ref.what === 'ipset' ? `ipset '+${ref.text}'` : `alias '${ref.text}'${ref.inIpset ? ' (ipset entry)' : ''}`;
      return { line: ref.line, message: `no such ${what}` };
    }
  }
  return undefined;
}
