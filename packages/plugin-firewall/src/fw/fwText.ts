/**
 * Character-level helpers of the firewall file parser: whitespace as Perl's `\s` and `\h`
 * see it in pve-firewall's patterns, trimming and token scanning by index (no regular
 * expressions, so nothing can backtrack).
 *
 * @packageDocumentation
 */

/** Horizontal whitespace (`\h`): space and tab. */
export function isHSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/** Whitespace inside a line (`\s` without newlines): space, tab, form feed, vertical tab. */
export function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\f' || c === '\v';
}

/** `text` without leading and trailing whitespace of the kind `isWs` accepts. */
export function trimWith(text: string, isWs: (c: string | undefined) => boolean): string {
  let start = 0;
  let end = text.length;
  while (start < end && isWs(text[start])) start++;
  while (end > start && isWs(text[end - 1])) end--;
  return text.slice(start, end);
}

/** Index of the first character at or after `from` that is not whitespace (`isSpace`). */
export function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isSpace(text[i])) i++;
  return i;
}

/** Index just after the run of non-whitespace characters starting at `from`. */
export function tokenEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && !isSpace(text[i])) i++;
  return i;
}

/**
 * Splits a line at its first `#`: the text before it, and the comment after it trimmed (as
 * pve-firewall's `#\s*(.*?)\s*$`), undefined when there is no `#`.
 */
export function splitComment(line: string): { body: string; comment?: string } {
  const hash = line.indexOf('#');
  if (hash < 0) return { body: line };
  return { body: line.slice(0, hash), comment: trimWith(line.slice(hash + 1), isSpace) };
}
