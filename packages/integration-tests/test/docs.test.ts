/**
 * The docs build from a plain clone: typedoc (configured in typedoc.json with warnings as
 * errors) passes, and no markdown link in the repository's docs leaves the repository or
 * points at a missing file. A link outside the repository can resolve on one machine (a
 * checkout with something beside it) and fail in every other clone: the second test refuses
 * it even where it resolves.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTool } from '@corral/core/testing';

/** The repository root (this file runs from packages/integration-tests/dist/test). */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** The markdown files users read: the root's, docs/ (not the generated docs/api), and each package's README. */
function markdownFiles(): string[] {
  const out = ['README.md', 'API-CHANGELOG.md'].map((f) => join(root, f));
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory() && path !== join(root, 'docs', 'api')) walk(path);
      else if (e.name.endsWith('.md')) out.push(path);
    }
  };
  walk(join(root, 'docs'));
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, group))) {
      const readme = join(root, group, name, 'README.md');
      if (existsSync(readme)) out.push(readme);
    }
  }
  return out;
}

/** Relative link targets of a markdown text (`[text](target)`), without `#fragment`; URLs and anchors left out. */
function relativeLinks(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    out.push(decodeURI(target.split('#')[0]!));
  }
  return out;
}

test('every markdown link in the docs stays inside the repository and points at a file that exists', (t) => {
  const files = markdownFiles();
  t.true(files.length >= 5, files.join(', '));
  const bad: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const link of relativeLinks(readFileSync(file, 'utf8'))) {
      checked++;
      const target = resolve(dirname(file), link);
      const where = `${relative(root, file)}: ${link}`;
      if (relative(root, target).startsWith('..')) bad.push(`${where} (outside the repository)`);
      else if (!existsSync(target)) bad.push(`${where} (no such file)`);
    }
  }
  t.true(checked > 10, `only ${checked} links found: the link pattern is broken`);
  t.deepEqual(bad, []);
});

test('every published package is in the API reference (typedoc.json entryPoints)', (t) => {
  const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { entryPoints?: string[] };
  const published: string[] = [];
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, group))) {
      const file = join(root, group, name, 'package.json');
      if (existsSync(file) && !(JSON.parse(readFileSync(file, 'utf8')) as { private?: boolean }).private) published.push(`${group}/${name}`);
    }
  }
  t.true(published.length >= 7, published.join(', '));
  t.deepEqual(published.filter((p) => !config.entryPoints?.includes(p)), []);
});

test('typedoc builds the API docs with warnings as errors', async (t) => {
  // Waits for typedoc to end (about 25 s of CPU); the generous limit only guards against a hang.
  t.timeout(15 * 60_000);
  const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
  const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { treatWarningsAsErrors?: boolean };
  t.true(config.treatWarningsAsErrors, 'typedoc.json must keep treatWarningsAsErrors');
  const run = await runTool([process.execPath, typedoc, '--emit', 'none'], { cwd: root, timeoutMs: 14 * 60_000 });
  const output = `${run.stdout}\n${run.stderr}`;
  t.is(run.exitCode, 0, output);
  t.notRegex(output, /\[warning\]|\[error\]/, output);
});
