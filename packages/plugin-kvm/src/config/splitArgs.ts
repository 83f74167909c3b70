import { InvalidConfigError } from '@corral/core';

/**
 * Splits the `args` config value (extra QEMU arguments, as Proxmox's `args:` key) into an argv
 * array, the way a POSIX shell splits words but without running one: white space separates
 * words; single quotes keep everything literally; double quotes keep everything except
 * `\"` and `\\`; a backslash outside quotes escapes the next character. No expansion of any
 * kind (`$`, globs, `~`) happens.
 *
 * ```ts
 * splitArgs('-kernel /k -append "console=ttyS0 quiet"') // ['-kernel', '/k', '-append', 'console=ttyS0 quiet']
 * ```
 *
 * @throws InvalidConfigError (key `args`, or `options.key`) for an unterminated quote or a
 *   trailing backslash.
 */
export function splitArgs(text: string, options: { key?: string } = {}): string[] {
  const key = options.key ?? 'args';
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const fail = (message: string): never => {
    throw new InvalidConfigError(key, text, `invalid '${key}': ${message}`);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) fail(`unterminated single quote at position ${i}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated double quote');
        const d = text[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
          word += text[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
    } else if (c === '\\') {
      if (i + 1 >= text.length) fail('trailing backslash');
      word += text[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
