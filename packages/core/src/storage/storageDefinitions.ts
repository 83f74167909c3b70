import { Type, type TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { InvalidConfigError } from '../errors.js';
import { STORAGE_CONTENT_TYPES, type StorageContent, type StorageDefinition, type StorageDriverInfo } from '../contracts/storage.js';

/** Options every storage type accepts, on top of its driver's schema. */
export const COMMON_STORAGE_OPTIONS = Object.freeze(['content', 'nodes', 'disable', 'shared']);

/** Converts a user-given option value to the string storage.cfg holds. */
export function optionToString(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

function parseList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Builds a {@link StorageDefinition} from storage.cfg options, applying the driver's
 * defaults. Throws `InvalidConfigError` naming the option for an unknown content type.
 */
export function toStorageDefinition(id: string, info: StorageDriverInfo, options: Readonly<Record<string, string>>): StorageDefinition {
  const content = options.content === undefined ? [...info.defaultContent] : parseList(options.content);
  for (const c of content) {
    if (c === 'none') continue;
    if (!STORAGE_CONTENT_TYPES.includes(c as StorageContent)) {
      throw new InvalidConfigError('content', options.content, `storage '${id}': unknown content type '${c}' (allowed: ${STORAGE_CONTENT_TYPES.join(', ')})`);
    }
    if (!info.contentTypes.includes(c as StorageContent)) {
      throw new InvalidConfigError('content', options.content, `storage '${id}': type '${info.type}' cannot hold content '${c}' (it can hold: ${info.contentTypes.join(', ')})`);
    }
  }
  return {
    id,
    type: info.type,
    content: content.filter((c) => c !== 'none') as StorageContent[],
    nodes: parseList(options.nodes),
    disabled: options.disable === '1' || options.disable === '',
    shared: options.shared === undefined ? info.shared : options.shared === '1',
    options,
  };
}

const booleanString = Type.Union([Type.Literal('0'), Type.Literal('1'), Type.Literal('')]);

/**
 * Validates a storage's options against the driver's schema plus the common options. Values
 * are strings as in storage.cfg. Throws `InvalidConfigError` naming the first bad option.
 */
export function validateStorageOptions(id: string, info: StorageDriverInfo, options: Readonly<Record<string, string>>): void {
  const schema: TObject = Type.Object(
    {
      ...info.optionsSchema.properties,
      content: Type.Optional(Type.String()),
      nodes: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9\\-_.,; ]*$' })),
      disable: Type.Optional(booleanString),
      shared: Type.Optional(booleanString),
    },
    { additionalProperties: false },
  );
  for (const key of Object.keys(options)) {
    if (!(key in schema.properties)) {
      const known = Object.keys(schema.properties).sort().join(', ');
      throw new InvalidConfigError(key, options[key], `storage '${id}': option '${key}' is not known for type '${info.type}' (known: ${known})`);
    }
  }
  const first = Value.Errors(schema, options).First();
  if (first) {
    const key = first.path.replace(/^\//, '').split('/')[0] || '(definition)';
    const value = (options as Record<string, unknown>)[key];
    const what = value === undefined ? `option '${key}' is required` : `option '${key}' has invalid value '${String(value)}'`;
    throw new InvalidConfigError(key, value, `storage '${id}' (${info.type}): ${what}: ${first.message}`);
  }
  toStorageDefinition(id, info, options);
}
