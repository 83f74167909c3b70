/**
 * Inputs on which earlier parser patterns backtracked for seconds: the parser tests check what
 * the parsers answer to them, `bench/parser-safety.mjs` how long they take.
 */

/** One adversarial input. */
export interface AdversarialInput {
  readonly description: string;
  readonly input: string;
}

// Lines on which the old line patterns backtracked for seconds (a 3 KB key line: 4 s).
/** Guest `.conf` texts (each is refused with a ParseError, as a VM and as a container config). */
export const GUEST_CONFIG_ADVERSARIAL: readonly AdversarialInput[] = [
  { description: 'a key line of tabs around a word, then CR and a colon', input: `a:${'\t'.repeat(1500)}0${'\t'.repeat(1500)}\r:` },
  { description: 'a key line of tabs around a word, then U+2028 and a colon', input: `a:${'\t'.repeat(1500)}0${'\t'.repeat(1500)}\u2028:` },
  { description: 'a raw lxc line of tabs around a word, then CR and =', input: `lxc.a:${'\t'.repeat(1500)}0${'\t'.repeat(1500)}\r=` },
  { description: 'an old description key of tabs', input: `description:${'\t'.repeat(40_000)}` },
  { description: 'a delete line of tabs', input: `[PENDING]\ndelete:${'\t'.repeat(40_000)}\0\rd` },
  { description: 'a description of tabs before a NUL (the old trailing-space trim)', input: `#${'\t'.repeat(40_000)}%00\t\n` },
];

/** `storage.cfg` texts (read by the lenient reader). */
export const SECTION_CONFIG_ADVERSARIAL: readonly AdversarialInput[] = [
  { description: 'a header of colons (the old header pattern took 3 s)', input: `\0${'::'.repeat(20_000)}\0\t\0` },
  { description: 'an option line of tabs (polynomial for the old option pattern)', input: `dir: a\n\t\0\n${'\t'.repeat(60_000)}\0\t\0\n\0` },
  { description: 'an option value of tabs', input: `dir: a\n\tk${'\t'.repeat(120_000)}\0` },
];

/** A `storage.cfg` of 300 000 broken parts (their errors are made when asked for). */
export const MANY_BROKEN_SECTIONS = 'x\n\n'.repeat(300_000);

/** VM config values the schema refuses; the `runningcpu` one made the old pattern backtrack for seconds. */
export const SCHEMA_ADVERSARIAL: ReadonlyArray<AdversarialInput & { readonly key: string }> = [
  { description: 'runningcpu that made the old pattern backtrack for seconds', key: 'runningcpu', input: `${'a'.repeat(30)}!` },
  { description: 'a 300 KB args', key: 'args', input: `-x ${'y'.repeat(300_000)}` },
];

/** Long runs of the characters parser patterns split on: each pattern is tried on every one. */
export function patternAdversarialInputs(): string[] {
  const runs = ['a', '0', '-', ' ', '\t', ',', '=', ':', '/', '.', '+', '%', '@', 'a=', 'a,', '0-', 'a:', '+a', '/.', '\u2028'];
  return runs.flatMap((r) => {
    const long = r.repeat(Math.ceil(20_000 / r.length));
    return [long, `${long}\0`, `a${long}!`];
  });
}
