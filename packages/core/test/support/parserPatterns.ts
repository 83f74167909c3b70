/**
 * The regular expressions of the parser modules, found in their source with the TypeScript
 * parser (regex literals, `new RegExp(...)` of literals and file-level string constants,
 * schema `pattern:` strings) plus every `pattern` of core's config schemas reachable from its
 * exports. Checked by `regexSafety.test.ts` (recheck) and timed by `bench/parser-safety.mjs`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import * as core from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

/** The parser modules, relative to the repository root (directories: every `.ts` in them). */
const PARSER_SOURCES = [
  'packages/core/src/formats',
  'packages/core/src/formats/schema',
  'packages/core/src/storage/volumeId.ts',
  'packages/core/src/storage/StorageConfigFile.ts',
  'packages/core/src/storage/storageDefinitions.ts',
  'packages/core/src/storage/proxmoxStorageTypes.ts',
  'packages/core/src/storage/storageOptionValues.ts',
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

/** One pattern and where it was found (`file:line` or `schema <export path>`). */
export interface FoundPattern {
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

/**
 * Every pattern of the parsers, once per source and flags, and the places where a
 * `new RegExp(...)` is built from something that cannot be evaluated (`unresolved`).
 */
export function findParserPatterns(): { found: FoundPattern[]; unresolved: string[] } {
  const unresolved: string[] = [];
  const found = [
    ...new Map([...sourceFiles().flatMap((f) => patternsOf(f, unresolved)), ...schemaPatterns()].map((p) => [`${p.flags}/${p.source}`, p])).values(),
  ];
  return { found, unresolved };
}
