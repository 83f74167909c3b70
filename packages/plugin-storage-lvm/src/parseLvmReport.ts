import { ParseError } from '@corral/core';

/** One logical volume from an `lvs --reportformat json --units b --nosuffix` report. */
export interface LvmLv {
  readonly vg: string;
  readonly name: string;
  /** Size in bytes (for a thin LV: its virtual size; for a pool: its data size). */
  readonly sizeBytes: number;
  /** `lv_attr` as printed (`-wi-a-----`, `Vwi-aotz--`, `twi-aotz--`...). */
  readonly attr: string;
  /** First `lv_attr` letter: `-` plain, `t` thin pool, `V` thin volume, `m`/`M`/`r`/`R` mirror/RAID... */
  readonly type: string;
  /** Fifth `lv_attr` letter: `a` active, `-` inactive, `X` unknown (activation disabled). */
  readonly state: string;
  /** Thin pool of a thin LV. */
  readonly pool?: string;
  /** Origin of a snapshot or thin clone. */
  readonly origin?: string;
  /** Percent of a thin pool's data (or a thin LV's data) in use, when reported. */
  readonly dataPercent?: number;
  readonly metadataPercent?: number;
  readonly metadataSizeBytes?: number;
  readonly tags: readonly string[];
  /** Creation time, seconds since the epoch. */
  readonly ctime?: number;
}

/** One volume group from a `vgs --reportformat json --units b --nosuffix` report. */
export interface LvmVg {
  readonly name: string;
  readonly sizeBytes: number;
  readonly freeBytes: number;
  readonly lvCount: number;
}

function rows(stdout: string, key: 'lv' | 'vg', what: string): Record<string, string>[] {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (err) {
    throw new ParseError(what, `not JSON: ${(err as Error).message}`);
  }
  const report = (doc as { report?: unknown }).report;
  if (!Array.isArray(report)) throw new ParseError(what, "no 'report' array");
  const out: Record<string, string>[] = [];
  for (const part of report) {
    const list = (part as Record<string, unknown>)[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new ParseError(what, `'${key}' is not an array`);
    for (const row of list) {
      if (!row || typeof row !== 'object') throw new ParseError(what, `a '${key}' row is not an object`);
      out.push(row as Record<string, string>);
    }
  }
  return out;
}

function int(value: string | undefined, what: string, field: string): number {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isSafeInteger(n) || n < 0) throw new ParseError(what, `field '${field}' is not a byte count: ${JSON.stringify(value)}`);
  return n;
}

function optNumber(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Parses an `lvs` JSON report (see `LvmCommands.lvs`). Hidden LVs (`[data_tdata]`) keep their
 * brackets. Throws `ParseError` for output that is not such a report.
 */
export function parseLvsReport(stdout: string): LvmLv[] {
  const what = 'lvs report';
  return rows(stdout, 'lv', what).map((r) => {
    const attr = r.lv_attr ?? '';
    return {
      vg: r.vg_name ?? '',
      name: r.lv_name ?? '',
      sizeBytes: int(r.lv_size, what, 'lv_size'),
      attr,
      type: attr.charAt(0),
      state: attr.charAt(4),
      pool: r.pool_lv || undefined,
      origin: r.origin || undefined,
      dataPercent: optNumber(r.data_percent),
      metadataPercent: optNumber(r.metadata_percent),
      metadataSizeBytes: optNumber(r.lv_metadata_size),
      tags: r.lv_tags ? r.lv_tags.split(',').filter(Boolean) : [],
      ctime: optNumber(r.lv_time),
    };
  });
}

/** Parses a `vgs` JSON report (see `LvmCommands.vgs`). Throws `ParseError`. */
export function parseVgsReport(stdout: string): LvmVg[] {
  const what = 'vgs report';
  return rows(stdout, 'vg', what).map((r) => ({
    name: r.vg_name ?? '',
    sizeBytes: int(r.vg_size, what, 'vg_size'),
    freeBytes: int(r.vg_free, what, 'vg_free'),
    lvCount: int(r.lv_count, what, 'lv_count'),
  }));
}
