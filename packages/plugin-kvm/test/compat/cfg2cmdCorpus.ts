/**
 * Proxmox's qemu-server `test/cfg2cmd` corpus as test data: each `NAME.conf` with its
 * per-test directives (the `# KEY: value` description lines qemu-server's test runner reads)
 * and, when Proxmox builds it, the expected argv of `NAME.conf.cmd`.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseGuestConfig } from '@corral/core';

/** The fixtures folder (the `test/` tree is compiled to `dist/test/`; fixtures stay in the source tree). */
export const CORPUS_DIR = fileURLToPath(new URL('../../../test/fixtures/qemu-server-cfg2cmd/', import.meta.url));

/** One test of the corpus. */
export interface Cfg2cmdCase {
  /** File name without `.conf`. */
  readonly name: string;
  /** The main section's keys (snapshots and special sections are not part of the command line). */
  readonly entries: Record<string, string>;
  /** `TEST`, `QEMU_VERSION`, `EXPECT_ERROR`, `HOST_ARCH`... from the description. */
  readonly directives: Readonly<Record<string, string>>;
  /** Expected argv, binary first; absent when Proxmox refuses the config (`EXPECT_ERROR`). */
  readonly expected?: readonly string[];
}

const DIRECTIVE = /^([A-Z_]+):\s*(.*)$/;

/** Every x86_64 case of the corpus, sorted by name. */
export function loadCfg2cmdCorpus(dir = CORPUS_DIR): Cfg2cmdCase[] {
  const out: Cfg2cmdCase[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.conf')).sort()) {
    const name = file.slice(0, -'.conf'.length);
    const config = parseGuestConfig(readFileSync(join(dir, file), 'utf8'), { type: 'qemu', source: file });
    const directives: Record<string, string> = {};
    const description: string[] = [];
    for (const line of (config.description ?? '').split('\n')) {
      const m = DIRECTIVE.exec(line.trim());
      if (m) directives[m[1]!] = m[2]!.trim();
      else if (line.trim() !== '') description.push(line);
    }
    const entries: Record<string, string> = {};
    for (const e of config.entries) entries[e.key] = e.value;
    if (description.length > 0) entries.description = description.join('\n');
    const cmd = join(dir, `${file}.cmd`);
    out.push({ name, entries, directives, expected: existsSync(cmd) ? shellWords(readFileSync(cmd, 'utf8')) : undefined });
  }
  return out;
}

/**
 * The words of a command line as the corpus writes it: blanks separate words, `'...'` quotes
 * literally, a backslash escapes the next character (a backslash-newline joins lines).
 */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated quote in command line');
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '\\') {
      if (text[i + 1] !== '\n') {
        word += text[i + 1] ?? '';
        inWord = true;
      }
      i++;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
