/**
 * Typed readers of the JSON that `rbd ... --format json` and `ceph df --format json` print
 * (Ceph 16 pacific; recorded in `test/fixtures`). Unknown fields are ignored; missing
 * required ones are a `ParseError`.
 *
 * @packageDocumentation
 */
import { ParseError } from '@corral/core';

/** The parent of a clone. */
export interface RbdParent {
  readonly pool: string;
  readonly namespace: string;
  readonly image: string;
  readonly snapshot: string;
}

/** One row of `rbd ls -l` (an image, or one of its snapshots when `snapshot` is set). */
export interface RbdListEntry {
  readonly image: string;
  readonly size: number;
  readonly snapshot?: string;
  readonly parent?: RbdParent;
}

/** `rbd info` of an image or snapshot. */
export interface RbdImageInfo {
  readonly name: string;
  readonly size: number;
  readonly format: number;
  readonly features: readonly string[];
  readonly parent?: RbdParent;
  /** Only for snapshots: `"protected": "true"` (a string in pacific). */
  readonly protected: boolean;
  /** Creation time, seconds since the epoch (from `create_timestamp`, local time). */
  readonly ctime?: number;
}

/** One snapshot from `rbd snap ls`. */
export interface RbdSnapshot {
  readonly name: string;
  readonly size: number;
  readonly protected: boolean;
  readonly ctime?: number;
}

/** One kernel mapping from `rbd showmapped`. */
export interface RbdMapping {
  readonly pool: string;
  readonly namespace: string;
  readonly image: string;
  /** `-` for the image head. */
  readonly snapshot: string;
  readonly device: string;
}

/** Usage of one pool from `ceph df`, bytes. */
export interface CephPoolUsage {
  readonly name: string;
  readonly stored: number;
  readonly maxAvail: number;
}

function parse(stdout: string, what: string): unknown {
  const text = stdout.trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ParseError(what, `invalid JSON: ${(err as Error).message}`);
  }
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ParseError(what, 'expected a JSON object');
  return v as Record<string, unknown>;
}

function arr(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ParseError(what, 'expected a JSON array');
  return v;
}

function num(v: unknown, what: string, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ParseError(what, `field '${field}' is not a number`);
  return v;
}

function str(v: unknown, what: string, field: string): string {
  if (typeof v !== 'string') throw new ParseError(what, `field '${field}' is not a string`);
  return v;
}

function flag(v: unknown): boolean {
  return v === true || v === 'true';
}

function time(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

function parent(v: unknown, what: string): RbdParent | undefined {
  if (v === undefined || v === null) return undefined;
  const p = obj(v, what);
  return {
    pool: str(p.pool, what, 'parent.pool'),
    namespace: typeof p.pool_namespace === 'string' ? p.pool_namespace : '',
    image: str(p.image, what, 'parent.image'),
    snapshot: str(p.snapshot, what, 'parent.snapshot'),
  };
}

/** `rbd ls -l --format json` (empty output = no images). */
export function parseRbdList(stdout: string): RbdListEntry[] {
  const what = 'rbd ls -l';
  return arr(parse(stdout, what), what).map((e) => {
    const o = obj(e, what);
    return {
      image: str(o.image, what, 'image'),
      size: num(o.size, what, 'size'),
      snapshot: typeof o.snapshot === 'string' ? o.snapshot : undefined,
      parent: parent(o.parent, what),
    };
  });
}

/** `rbd info --format json`. */
export function parseRbdInfo(stdout: string): RbdImageInfo {
  const what = 'rbd info';
  const o = obj(parse(stdout, what), what);
  return {
    name: str(o.name, what, 'name'),
    size: num(o.size, what, 'size'),
    format: num(o.format, what, 'format'),
    features: arr(o.features, what).filter((f): f is string => typeof f === 'string'),
    parent: parent(o.parent, what),
    protected: flag(o.protected),
    ctime: time(o.create_timestamp),
  };
}

/** `rbd snap ls --format json`. */
export function parseRbdSnapshots(stdout: string): RbdSnapshot[] {
  const what = 'rbd snap ls';
  return arr(parse(stdout, what), what).map((e) => {
    const o = obj(e, what);
    return { name: str(o.name, what, 'name'), size: num(o.size, what, 'size'), protected: flag(o.protected), ctime: time(o.timestamp) };
  });
}

/** `rbd children --format json`: the clones' image specs (`pool[/ns]/image`). */
export function parseRbdChildren(stdout: string): string[] {
  const what = 'rbd children';
  return arr(parse(stdout, what), what).map((e) => {
    const o = obj(e, what);
    const ns = typeof o.pool_namespace === 'string' && o.pool_namespace ? `${o.pool_namespace}/` : '';
    return `${str(o.pool, what, 'pool')}/${ns}${str(o.image, what, 'image')}`;
  });
}

/** `rbd showmapped --format json` (krbd, Ceph 16: fields id, pool, namespace, name, snap, device). */
export function parseRbdShowmapped(stdout: string): RbdMapping[] {
  const what = 'rbd showmapped';
  return arr(parse(stdout, what), what).map((e) => {
    const o = obj(e, what);
    return {
      pool: str(o.pool, what, 'pool'),
      namespace: typeof o.namespace === 'string' ? o.namespace : '',
      image: str(o.name, what, 'name'),
      snapshot: typeof o.snap === 'string' ? o.snap : '-',
      device: str(o.device, what, 'device'),
    };
  });
}

/**
 * The pools of `ceph df --format json`: `stored` (data without replication; pre-Nautilus
 * `bytes_used`) and `max_avail`, as Proxmox's status reads them.
 */
export function parseCephDf(stdout: string): CephPoolUsage[] {
  const what = 'ceph df';
  const o = obj(parse(stdout, what), what);
  return arr(o.pools, what).map((p) => {
    const pool = obj(p, what);
    const stats = obj(pool.stats, what);
    return {
      name: str(pool.name, what, 'name'),
      stored: num(stats.stored ?? stats.bytes_used, what, 'stats.stored'),
      maxAvail: num(stats.max_avail, what, 'stats.max_avail'),
    };
  });
}
