import { ParseError } from '@corral/core';

/** Properties of one dataset or snapshot, by property name, values as printed (`-` = not applicable). */
export type ZfsProps = ReadonlyMap<string, string>;

/**
 * Parses the output of `zfs get -Hp -o name,property,value ...` (one `name<TAB>property<TAB>value`
 * line per pair; the value may itself contain tabs) into properties per name, in the order the
 * names first appear. The same on OpenZFS 2.x and zfs-fuse.
 *
 * @throws ParseError for a line without two tabs.
 */
export function parseZfsGet(stdout: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const a = line.indexOf('\t');
    const b = a < 0 ? -1 : line.indexOf('\t', a + 1);
    if (a <= 0 || b < 0) throw new ParseError('zfs get', `expected 'name<TAB>property<TAB>value', got '${line}'`, i + 1);
    const name = line.slice(0, a);
    let props = out.get(name);
    if (!props) out.set(name, (props = new Map()));
    props.set(line.slice(a + 1, b), line.slice(b + 1));
  }
  return out;
}

/**
 * A numeric property value in bytes (or another integer unit), or undefined for `-`, `none`
 * and anything not a plain non-negative integer.
 */
export function zfsNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
