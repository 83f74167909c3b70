/**
 * The machinery behind the typed guest-config schemas: TypeBox schemas describe the typed
 * value of every config key (and of every field of a property string); this module turns the
 * text of a config value into that typed value, checks it, and prints it back.
 *
 * Conversion from text follows Proxmox: booleans are `1/on/yes/true` and `0/off/no/false`
 * (any case), integers and numbers are decimal, sizes (`pveSize`) are `32G`-style. Extra
 * checks that a pattern cannot express are named formats (`pveFormat`, see
 * {@link PVE_FORMATS}). Errors are `InvalidConfigError`s naming the config key and the value.
 *
 * @packageDocumentation
 */
import {
  OptionalKind,
  Type,
  type SchemaOptions,
  type Static,
  type TLiteral,
  type TObject,
  type TProperties,
  type TSchema,
  type TUnion,
} from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { InvalidConfigError } from '../../errors.js';
import { defineOwn } from '../defineOwn.js';
import { formatSize, parsePropertyString, printPropertyString, parseSize, type PropertyStringAlias, type PropertyStringFormat } from '../propertyString.js';
import { PVE_FORMATS, type PveFormat } from './pveFormats.js';

/** Schema options Corral's conversion understands (TypeBox keeps them on the schema). */
export interface PveSchemaOptions extends SchemaOptions {
  /** A named format checked by code after the TypeBox constraints. */
  pveFormat?: PveFormat;
  /** The message used when the value fails its pattern, length or format. */
  pveMessage?: string;
}

/** A boolean, written `1`/`0` (Proxmox also reads on/off, yes/no, true/false). */
export const Bool = (options: SchemaOptions = {}) => Type.Boolean(options);
/** An integer with optional bounds. */
export const Int = (options: SchemaOptions & { minimum?: number; maximum?: number } = {}) => Type.Integer(options);
/** A decimal number with optional bounds. */
export const Num = (options: SchemaOptions & { minimum?: number; maximum?: number } = {}) => Type.Number(options);
/** A string; `pattern` is anchored for you. */
export const Str = (options: PveSchemaOptions & { pattern?: string; maxLength?: number; minLength?: number } = {}) =>
  Type.String(options.pattern === undefined ? options : { ...options, pattern: `^(?:${options.pattern})$` });
/** A size written like `32G` (Proxmox units K/M/G/T, base 1024), held as a number of bytes. */
export const Size = (options: SchemaOptions = {}) => Type.Integer({ minimum: 0, ...options, pveSize: true });
/** One of the given strings. */
export function Enum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as TUnion<TLiteral<T[number]>[]>;
}

interface AnySchema {
  type?: string;
  pveSize?: boolean;
  pveFormat?: PveFormat;
  pveMessage?: string;
  anyOf?: Array<{ const?: unknown }>;
  const?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  [OptionalKind]?: string;
}

const BOOL_TRUE = /^(?:1|on|yes|true)$/i;
const BOOL_FALSE = /^(?:0|off|no|false)$/i;
const NUMBER_RE = /^[+-]?(?:\d+\.\d+|\d+\.|\.\d+|\d+)(?:[eE][+-]?\d+)?$/;

function describeError(error: ValueError): string {
  const schema = error.schema as AnySchema;
  if (schema.pveMessage) return schema.pveMessage;
  switch (error.type) {
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be at least ${schema.minimum}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be at most ${schema.maximum}`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${schema.maxLength} characters long`;
    case ValueErrorType.StringMinLength:
      return `must be at least ${schema.minLength} characters long`;
    case ValueErrorType.StringPattern:
      return `must match ${schema.pattern}`;
    case ValueErrorType.Literal:
      return `must be one of: ${String(schema.const)}`;
    case ValueErrorType.Union:
      if (schema.anyOf?.every((s) => typeof s.const === 'string')) {
        return `must be one of: ${schema.anyOf.map((s) => String(s.const)).join(', ')}`;
      }
      return error.message;
    default:
      return error.message.replace(/^Expected/, 'expected');
  }
}

/**
 * Converts the text of one scalar value to its typed value and checks it against `schema`.
 *
 * @returns `{ value }`, or `{ error }` with a message such as `must be at least 16`.
 */
export function convertScalar(raw: string, schema: TSchema): { value: unknown; error?: undefined } | { error: string; value?: undefined } {
  const s = schema as AnySchema;
  let value: unknown = raw;
  if (s.pveSize) {
    try {
      value = parseSize(raw);
    } catch {
      return { error: 'is not a size (bytes, or a number with unit K, M, G or T, e.g. 32G)' };
    }
  } else if (s.type === 'boolean') {
    if (BOOL_TRUE.test(raw)) value = true;
    else if (BOOL_FALSE.test(raw)) value = false;
    else return { error: 'must be a boolean (1 or 0)' };
  } else if (s.type === 'integer') {
    if (!/^[+-]?\d+$/.test(raw)) return { error: 'must be an integer' };
    value = Number(raw);
    if (!Number.isSafeInteger(value)) return { error: 'is out of range' };
  } else if (s.type === 'number') {
    if (!NUMBER_RE.test(raw)) return { error: 'must be a number' };
    value = Number(raw);
  }
  const first = Value.Errors(schema, value).First();
  if (first) return { error: describeError(first) };
  if (s.pveFormat && typeof value === 'string') {
    const error = PVE_FORMATS[s.pveFormat](value);
    if (error) return { error: s.pveMessage ?? error };
  }
  return { value };
}

/**
 * The schema builders of Corral's config schemas, for plugins defining their own formats:
 * TypeBox types plus the conversion options (`Size` is a `32G`-style size held in bytes,
 * `Str` anchors its `pattern` and accepts `pveFormat` / `pveMessage`).
 */
export const PveType = { Bool, Int, Num, Str, Size, Enum } as const;

/** Prints a typed scalar the way Proxmox writes it: booleans as 1/0, sizes as `32G`. */
export function printScalar(value: unknown, schema: TSchema): string {
  const s = schema as AnySchema;
  if (s.pveSize && typeof value === 'number') return formatSize(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

function quote(value: string): string {
  return `'${value}'`;
}

/**
 * How one config key is read and written: `parse` turns the text of its value into the typed
 * value, `print` does the reverse. Both throw `InvalidConfigError` naming the key and value.
 */
export interface ConfigKeySpec<T = unknown> {
  /** The TypeBox schema of the typed value. */
  readonly schema: TSchema;
  /** Parses and checks the text of a value of config key `key`. */
  parse(raw: string, key: string): T;
  /** Prints a typed value of config key `key` (checked the same way). */
  print(value: T, key: string): string;
}

/** A config key whose value is one scalar (boolean, number, string, enum, size). */
export function scalarKey<S extends TSchema>(schema: S): ConfigKeySpec<Static<S>> {
  const parse = (raw: string, key: string): Static<S> => {
    const result = convertScalar(raw, schema);
    if (result.error !== undefined) {
      throw new InvalidConfigError(key, raw, `invalid value for '${key}': ${quote(raw)} ${result.error}`);
    }
    return result.value as Static<S>;
  };
  return {
    schema,
    parse,
    print(value, key) {
      const text = printScalar(value, schema);
      parse(text, key);
      return text;
    },
  };
}

/** Definition of a property-string format with typed fields (see {@link definePropertyString}). */
export interface PropertyStringDefinition<P extends TProperties> {
  /** Human name for errors when no config key is given, e.g. `qemu net`. */
  readonly name: string;
  /** Typed fields. Mark optional ones with `Type.Optional`. */
  readonly properties: P;
  /** The field that may be written without `key=`. */
  readonly defaultKey?: keyof P & string;
  /** Alias keys (see {@link PropertyStringAlias}). */
  readonly aliases?: Readonly<Record<string, PropertyStringAlias>>;
  /** Checks across fields; returns an error message or `undefined`. */
  readonly refine?: (value: Static<TObject<P>>) => string | undefined;
  /** The longest text accepted (qemu-server's `maxLength` of the key), checked before anything else. */
  readonly maxLength?: number;
}

/** A property-string format with typed fields: parse to a typed object and print it back. */
export interface PropertyStringSpec<P extends TProperties> extends ConfigKeySpec<Static<TObject<P>>> {
  readonly name: string;
  readonly schema: TObject<P>;
  /** The untyped format (default key, keys, aliases) for {@link parsePropertyString}. */
  readonly format: PropertyStringFormat;
}

function isOptional(schema: TSchema): boolean {
  return (schema as AnySchema)[OptionalKind] === 'Optional';
}

/**
 * Defines a property-string format with typed fields.
 *
 * `parse` splits the text (see {@link parsePropertyString}), converts and checks every field,
 * checks required fields and `refine`, and returns the typed object with the fields in the
 * order written. `print` writes Proxmox's canonical order (`print_property_string`): the
 * default key first (bare), then the required fields, then the others, each group sorted.
 */
export function definePropertyString<P extends TProperties>(definition: PropertyStringDefinition<P>): PropertyStringSpec<P> {
  const { name, properties, defaultKey, aliases, refine, maxLength } = definition;
  const schema = Type.Object(properties, { additionalProperties: false });
  const format: PropertyStringFormat = { name, defaultKey, aliases, keys: Object.keys(properties) };
  const props = properties as Record<string, TSchema>;

  const parse = (raw: string, key: string = name): Static<TObject<P>> => {
    const fail = (message: string): never => {
      throw new InvalidConfigError(key, raw, `invalid value for '${key}': ${message} (value ${quote(raw)})`);
    };
    if (maxLength !== undefined && typeof raw === 'string' && raw.length > maxLength) {
      throw new InvalidConfigError(key, raw, `invalid value for '${key}': longer than ${maxLength} characters`);
    }
    const record = parsePropertyString(raw, format, { key });
    const out: Record<string, unknown> = {};
    for (const [field, text] of Object.entries(record)) {
      const result = convertScalar(text, props[field]!);
      if (result.error !== undefined) fail(`${field}=${text} ${result.error}`);
      defineOwn(out, field, result.value);
    }
    for (const [field, fieldSchema] of Object.entries(props)) {
      if (!isOptional(fieldSchema) && !Object.hasOwn(out, field)) {
        fail(field === defaultKey ? `'${field}' is required (given first, without '${field}=')` : `'${field}' is required`);
      }
    }
    const typed = out as Static<TObject<P>>;
    const problem = refine?.(typed);
    if (problem) fail(problem);
    const first = Value.Errors(schema, typed).First();
    if (first) fail(`${first.path} ${describeError(first)}`);
    return typed;
  };

  const print = (value: Static<TObject<P>>, key: string = name): string => {
    const data = value as Record<string, unknown>;
    const present = (k: string): boolean => Object.hasOwn(props, k) && data[k] !== undefined;
    const order: string[] = [];
    if (defaultKey !== undefined && present(defaultKey)) order.push(defaultKey);
    const rest = Object.keys(data).filter((k) => present(k) && k !== defaultKey).sort();
    order.push(...rest.filter((k) => !isOptional(props[k]!)), ...rest.filter((k) => isOptional(props[k]!)));
    for (const k of Object.keys(data)) {
      if (!Object.hasOwn(props, k) && data[k] !== undefined) {
        throw new InvalidConfigError(key, value, `cannot print '${key}': unknown field '${k}' for ${name}`);
      }
    }
    const record: Record<string, string> = {};
    for (const k of order) defineOwn(record, k, printScalar(data[k], props[k]!));
    const text = printPropertyString(record, format, { key });
    parse(text, key);
    return text;
  };

  return { name, schema, format, parse, print };
}

/** A config key whose value is a property string of the given format. */
export function propertyKey<P extends TProperties>(spec: PropertyStringSpec<P>): ConfigKeySpec<Static<TObject<P>>> {
  return spec;
}

/** A config key with its own parser (for values that are neither a scalar nor a property string). */
export function customKey<T>(schema: TSchema, parse: (raw: string, key: string) => T, print: (value: T, key: string) => string): ConfigKeySpec<T> {
  return { schema, parse, print };
}
