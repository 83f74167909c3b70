/**
 * Proxmox VE "section config" files, such as `storage.cfg`:
 *
 * ```text
 * dir: local
 * \tpath /var/lib/vz
 * \tcontent iso,vztmpl,backup
 *
 * rbd: ceph-vm
 * \tdisable
 * \tmonhost 10.0.0.1 10.0.0.2
 * \tpool vm
 *
 * ```
 *
 * Each section is a `type: id` header followed by indented `key value` lines (a key alone is
 * a flag, such as `disable`), and ends at an empty line. This follows pve-common's
 * `PVE::SectionConfig::parse_config` / `write_config` without any plugin schema: values are
 * kept as strings, keys and order as written. Checking options against a storage type's schema
 * is for the storage layer.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, ParseError } from '../errors.js';
import { defineOwn } from './defineOwn.js';

/**
 * One section. `options` holds the values by key in file order; a flag written without a
 * value (`disable`) has the value `''`.
 */
export interface ConfigSection {
  type: string;
  id: string;
  options: Record<string, string>;
}

/** Options of {@link parseSectionConfig}. */
export interface ParseSectionConfigOptions {
  /** File name or other origin named in errors. Default `section config`. */
  readonly source?: string;
}

const HEADER = /^(\S+):\s*(\S+)\s*$/;
const OPTION = /^\s+(\S+)(?:\s+(.*\S))?\s*$/;
const TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * Parses a section config file.
 *
 * Like Proxmox: lines whose first non-blank character is `#` are comments (and are not kept),
 * an empty line ends a section, lines of only white space are ignored. Unlike Proxmox, which
 * warns and skips, anything it would skip is an error; and a header directly after an option
 * line (no empty line in between) starts a new section.
 *
 * @returns The sections in file order.
 * @throws ParseError (1-based `line`) for a line that is neither a header, an option of a
 *   section nor a comment, an invalid type, a repeated section id, or a repeated option.
 */
export function parseSectionConfig(text: string, options: ParseSectionConfigOptions = {}): ConfigSection[] {
  const source = options.source ?? 'section config';
  if (typeof text !== 'string') throw new ParseError(source, 'config text is not a string');
  const sections: ConfigSection[] = [];
  const ids = new Set<string>();
  let current: ConfigSection | undefined;

  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const lineNo = index + 1;
    const fail = (message: string): never => {
      throw new ParseError(source, message, lineNo);
    };
    if (line === '') {
      current = undefined;
      continue;
    }
    if (/^\s*#/.test(line) || /^\s+$/.test(line)) continue;

    const option = current ? OPTION.exec(line) : null;
    if (current && option) {
      const key = option[1]!;
      if (Object.hasOwn(current.options, key)) fail(`section '${current.id}': duplicate option '${key}'`);
      defineOwn(current.options, key, option[2] ?? '');
      continue;
    }
    const header = HEADER.exec(line);
    if (!header) {
      fail(current ? `section '${current.id}': cannot parse option line '${line}'` : `expected a section header 'type: id', got '${line}'`);
    }
    const [, type, id] = header!;
    if (!TYPE_PATTERN.test(type!)) fail(`invalid section type '${type}'`);
    if (ids.has(id!)) fail(`duplicate section '${id}'`);
    ids.add(id!);
    current = { type: type!, id: id!, options: {} };
    sections.push(current);
  }
  return sections;
}

/**
 * Writes sections as Proxmox does: `type: id`, then one `\tkey value` line per option (`\tkey`
 * for a flag, value `''`), then an empty line, for every section. Options keep their order.
 * The output of a file parsed by {@link parseSectionConfig} is that file byte for byte when it
 * is in the shape Proxmox writes (tab indentation, one empty line after each section, no comments).
 *
 * @throws InvalidConfigError naming the option (or `type` / `id`) for anything that would not
 *   read back the same: an invalid type or id, a key with white space, a value with a line
 *   feed or surrounding white space, a repeated id.
 */
export function serializeSectionConfig(sections: readonly ConfigSection[]): string {
  let out = '';
  const ids = new Set<string>();
  for (const section of sections) {
    const { type, id } = section;
    if (typeof type !== 'string' || !TYPE_PATTERN.test(type)) {
      throw new InvalidConfigError('type', type, `invalid section type '${String(type)}'`);
    }
    if (typeof id !== 'string' || !/^\S+$/.test(id)) throw new InvalidConfigError('id', id, `invalid section id '${String(id)}'`);
    if (ids.has(id)) throw new InvalidConfigError('id', id, `duplicate section '${id}'`);
    ids.add(id);
    out += `${type}: ${id}\n`;
    for (const [key, value] of Object.entries(section.options)) {
      if (!/^\S+$/.test(key) || key.startsWith('#')) {
        throw new InvalidConfigError(key, value, `section '${id}': invalid option key '${key}'`);
      }
      if (typeof value !== 'string') {
        throw new InvalidConfigError(key, value, `section '${id}': value of '${key}' must be a string, got ${typeof value}`);
      }
      if (/[\n\r]/.test(value)) throw new InvalidConfigError(key, value, `section '${id}': value of '${key}' contains a line feed`);
      if (value !== value.trim()) {
        throw new InvalidConfigError(key, value, `section '${id}': value of '${key}' has leading or trailing white space, which would be lost`);
      }
      out += value === '' ? `\t${key}\n` : `\t${key} ${value}\n`;
    }
    out += '\n';
  }
  return out;
}
