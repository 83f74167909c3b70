/**
 * No regular expression of a parser backtracks on user input.
 *
 * Every regular expression of the parser modules (core's formats, volume ids, storage.cfg,
 * UPIDs and task users, guest documents, the command runner; the kvm and lxc config parsers;
 * the storage plugins' volume-name parsers) is found in their source with the TypeScript
 * parser, every `pattern` of core's config schemas is collected at run time, and each is
 * checked with recheck (its pure JavaScript backend): it must be safe, neither exponential nor
 * polynomial. The checker's verdict is checked against the old `runningcpu` pattern, and every
 * pattern is also timed on long adversarial inputs.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSync } from 'recheck';
import ts from 'typescript';
import * as core from '../../src/index.js';
import { fastestRunMs } from '../support/fastestRun.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

/** The parser modules, relative to the repository root (directories: every `.ts` in them). */
const PARSER_SOURCES = [
  'packages/core/src/formats',
  'packages/core/src/formats/schema',
  'packages/core/src/storage/volumeId.ts',
  'packages/core/src/storage/StorageConfigFile.ts',
  'packages/core/src/storage/storageDefinitions.ts',
  'packages/core/src/tasks/Upid.ts',
  'packages/core/src/tasks/TaskLogDir.ts',
  'packages/core/src/tasks/checkUserid.ts',
  'packages/core/src/guests/GuestDocument.ts',
  'packages/core/src/guests/GuestConfigRepository.ts',
  'packages/core/src/exec/NodeCommandRunner.ts',
  'packages/plugin-kvm/src/config',
  'packages/plugin-lxc/src/config',
  'packages/plugin-storage-dir/src/dirVolname.ts',
  'packages/plugin-storage-zfs/src/zfsVolname.ts',
  'packages/plugin-storage-ceph/src/rbdVolname.ts',
];

interface FoundPattern {
  readonly where: string;
  readonly source: string;
  readonly flags: string;
}

function sourceFiles(): string[] {
  return PARSER_SOURCES.flatMap((p) =>
    p.endsWith('.ts') ? [p] : readdirSync(join(ROOT, p)).filter((f) => f.endsWith('.ts')).map((f) => `${p}/${f}`),
  );
}

/** Evaluates a string or template expression made of literals and file-level string constants. */
function evaluate(node: ts.Expression, constants: ReadonlyMap<string, string>): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isIdentifier(node)) return constants.get(node.text);
  if (ts.isTemplateExpression(node)) {
    let out = node.head.text;
    for (const span of node.templateSpans) {
      const part = evaluate(span.expression, constants);
      if (part === undefined) return undefined;
      out += part + span.literal.text;
    }
    return out;
  }
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = evaluate(node.left, constants);
    const right = evaluate(node.right, constants);
    return left === undefined || right === undefined ? undefined : left + right;
  }
  return undefined;
}

/** Regex literals, `new RegExp(...)` and schema `pattern:` strings of one source file. */
function patternsOf(file: string, unresolved: string[]): FoundPattern[] {
  const sf = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const constants = new Map<string, string>();
  for (const statement of sf.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const d of statement.declarationList.declarations) {
      const value = d.initializer && ts.isIdentifier(d.name) ? evaluate(d.initializer, constants) : undefined;
      if (value !== undefined) constants.set((d.name as ts.Identifier).text, value);
    }
  }
  const out: FoundPattern[] = [];
  const visit = (node: ts.Node): void => {
    const where = `${file}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const text = node.getText();
      const end = text.lastIndexOf('/');
      out.push({ where, source: text.slice(1, end), flags: text.slice(end + 1) });
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
      const [arg, flags] = node.arguments ?? [];
      const source = arg && evaluate(arg, constants);
      if (source === undefined) unresolved.push(where);
      else out.push({ where, source, flags: (flags && evaluate(flags, constants)) ?? '' });
    } else if (ts.isPropertyAssignment(node) && node.name.getText() === 'pattern') {
      const source = evaluate(node.initializer, constants);
      // Schema patterns are anchored by `Str`; others built at run time are collected below.
      if (source !== undefined) out.push({ where, source: `^(?:${source})$`, flags: '' });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every `pattern` of the schemas reachable from core's exports. */
function schemaPatterns(): FoundPattern[] {
  const out = new Map<string, string>();
  const seen = new Set<unknown>();
  const walk = (value: unknown, where: string): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    const pattern = (value as { pattern?: unknown }).pattern;
    if (typeof pattern === 'string' && !out.has(pattern)) out.set(pattern, where);
    for (const [k, v] of Object.entries(value)) walk(v, `${where}.${k}`);
  };
  for (const [name, value] of Object.entries(core)) walk(value, name);
  return [...out].map(([source, where]) => ({ where: `schema ${where}`, source, flags: '' }));
}

// recheck's pure JavaScript checker, in this process (no native binary, no Java, no worker).
process.env.RECHECK_SYNC_BACKEND = 'pure';

function verdict(source: string, flags: string): { status: string; complexity?: string; attack?: string } {
  // The automaton checker proves its verdict (and is the fast one here); the fuzzing checker
  // only for what it cannot model.
  let result = checkSync(source, flags, { timeout: 20_000, checker: 'automaton' });
  if (result.status === 'unknown') result = checkSync(source, flags, { timeout: 20_000, randomSeed: 1 });
  return {
    status: result.status,
    complexity: result.status === 'vulnerable' ? result.complexity.type : undefined,
    attack: result.status === 'vulnerable' ? result.attack.pattern : undefined,
  };
}

const unresolved: string[] = [];
const found = [
  ...new Map([...sourceFiles().flatMap((f) => patternsOf(f, unresolved)), ...schemaPatterns()].map((p) => [`${p.flags}/${p.source}`, p])).values(),
];

test('the ReDoS checker finds the old runningcpu pattern (exponential) and passes its replacement', (t) => {
  const old = verdict('^(?:(?:[+-]?[\\w\\-._=]+,?)+)$', '');
  t.is(old.status, 'vulnerable');
  t.is(old.complexity, 'exponential');
  const current = (core.QEMU_CONFIG_KEYS.runningcpu.schema as unknown as { pattern: string }).pattern;
  t.is(verdict(current, '').status, 'safe');
});

test('the ReDoS checker finds the old polynomial guest config line pattern', (t) => {
  const old = verdict('^([a-z][a-z_-]*\\d*):\\s*(.+?)\\s*$', '');
  t.is(old.status, 'vulnerable');
  t.is(old.complexity, 'polynomial');
});

test('every regular expression of the parsers can be checked', (t) => {
  t.deepEqual(unresolved, [], 'new RegExp(...) built from something other than literals and string constants');
  t.true(found.length > 80, `found ${found.length} patterns`);
});

test('no regular expression of the parsers backtracks (recheck: neither exponential nor polynomial)', (t) => {
  const unsafe: string[] = [];
  for (const p of found) {
    const v = verdict(p.source, p.flags);
    if (v.status !== 'safe') unsafe.push(`${p.where}: /${p.source}/${p.flags} is ${v.status}${v.complexity ? ` (${v.complexity}, attack ${v.attack})` : ''}`);
  }
  t.log(`${found.length} patterns checked`);
  t.deepEqual(unsafe, []);
});

test('every pattern fails fast on long adversarial inputs', (t) => {
  const runs = ['a', '0', '-', ' ', '\t', ',', '=', ':', '/', '.', '+', '%', '@', 'a=', 'a,', '0-', 'a:', '+a', '/.', '\u2028'];
  const inputs = runs.flatMap((r) => [r.repeat(Math.ceil(20_000 / r.length)), `${r.repeat(Math.ceil(20_000 / r.length))}\0`, `a${r.repeat(Math.ceil(20_000 / r.length))}!`]);
  const slow: string[] = [];
  for (const p of found) {
    const re = new RegExp(p.source, p.flags.replace('g', ''));
    for (const input of inputs) {
      const ms = fastestRunMs(() => re.test(input));
      if (ms > 100) slow.push(`${p.where}: ${Math.round(ms)} ms on ${JSON.stringify(input.slice(0, 8))}×${input.length}`);
    }
  }
  t.deepEqual(slow, []);
});
