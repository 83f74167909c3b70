import { ParseError } from '@corral/core';

/** One LUN as `iscsi-ls -s` prints it. */
export interface IscsiLsLun {
  readonly lun: number;
  /** SCSI peripheral type as libiscsi names it (`DIRECT_ACCESS`, `STORAGE_ARRAY_CONTROLLER`...). */
  readonly type: string;
  /**
   * The size iscsi-ls shows, in bytes, for disks. libiscsi rounds it DOWN to whole k/M/G/T of
   * (last LBA × block size), so a 3 GiB LUN shows `2G`: use {@link parseReadCapacity16} for
   * the real size.
   */
  readonly shownSizeBytes?: number;
}

/** One target of an `iscsi-ls -s` listing. */
export interface IscsiLsTarget {
  readonly target: string;
  /** `address:port,tpgt` as printed. */
  readonly portal: string;
  readonly luns: readonly IscsiLsLun[];
}

const UNITS: Record<string, number> = { k: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * Parses the output of `iscsi-ls -s iscsi://<portal>` (libiscsi-bin 1.19):
 *
 * ```
 * Target:iqn.2026-12.org.example:t1 Portal:127.0.0.1:3260,1
 * Lun:0    Type:STORAGE_ARRAY_CONTROLLER
 * Lun:1    Type:DIRECT_ACCESS (Size:63M)
 * ```
 *
 * iscsi-ls lists EVERY target of the portal, whatever target the URL names; the caller picks
 * its own (Proxmox's ISCSIDirectPlugin does not, and merges the LUNs of all targets).
 *
 * @throws ParseError for a LUN line before any target line, or a line of unknown shape.
 */
export function parseIscsiLs(text: string): IscsiLsTarget[] {
  const out: Array<{ target: string; portal: string; luns: IscsiLsLun[] }> = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const t = /^Target:(\S+)\s+Portal:(\S+)$/.exec(line);
    if (t) {
      out.push({ target: t[1]!, portal: t[2]!, luns: [] });
      return;
    }
    const l = /^Lun:(\d+)\s+Type:(\S+)(?:\s+\(Size:([0-9.]+)([kMGT])\))?$/.exec(line);
    if (!l) throw new ParseError('iscsi-ls', `unexpected line '${line}'`, i + 1);
    const current = out.at(-1);
    if (!current) throw new ParseError('iscsi-ls', `LUN line before any Target line: '${line}'`, i + 1);
    current.luns.push({
      lun: Number(l[1]),
      type: l[2]!,
      shownSizeBytes: l[3] === undefined ? undefined : Math.round(Number(l[3]) * UNITS[l[4]!]!),
    });
  });
  return out;
}

/**
 * The exact size in bytes from `iscsi-readcapacity16 <url>` (its `Total size:<bytes>` line).
 *
 * @throws ParseError when the line is missing.
 */
export function parseReadCapacity16(text: string): number {
  const m = /^Total size:(\d+)\s*$/m.exec(text);
  if (!m) throw new ParseError('iscsi-readcapacity16', 'no "Total size:" line in its output');
  return Number(m[1]);
}
