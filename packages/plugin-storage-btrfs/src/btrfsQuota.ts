/**
 * Quota groups as the size of container subvolumes (storage option `quotas 1`): a limit on the
 * referenced bytes of the subvolume's own qgroup `0/<id>`, as BTRFSPlugin's commented-out
 * quota code would set it (`btrfs qgroup limit <size> 0/<id>`), and as ZFS's `refquota`
 * behaves: data shared with a base or a snapshot counts.
 *
 * Proxmox refuses sized btrfs subvolumes because `btrfs send/receive` drops quota
 * information; here a `btrfs` stream import gives an unsized subvolume, a `tar+size` import
 * restores the size from the header.
 *
 * @packageDocumentation
 */
import { NotSupportedError, ParseError } from '@corral/core';
import { BtrfsCommands } from './BtrfsCommands.js';
import { runBtrfs, volidOf, type BtrfsContext } from './BtrfsContext.js';
import { btrfsRelativePath } from './btrfsRelativePath.js';

/** Referenced bytes and limit of one qgroup. */
export interface QgroupUsage {
  /** Bytes referenced by the subvolume. */
  readonly referencedBytes: number;
  /** Limit on referenced bytes, 0 for none. */
  readonly limitBytes: number;
}

function bytes(value: string, what: string): number {
  if (value === 'none') return 0;
  if (!/^\d+$/.test(value)) throw new ParseError('btrfs qgroup show', `${what} '${value}' is not a number of bytes`);
  return Number(value);
}

/** `<qgroupid> <referenced> <exclusive> <max referenced> <max exclusive> <path>`. */
const QGROUP_LINE = /^0\/\d+\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.+)$/;

/**
 * Parses `btrfs qgroup show -re --raw` (btrfs-progs 6.x text; its JSON output aborts on a
 * qgroup with a limit in 6.2) into usage by path relative to the top level. Level-0 qgroups
 * only; `<toplevel>` and `<stale>` entries are skipped.
 */
export function parseQgroupShow(text: string): Map<string, QgroupUsage> {
  const out = new Map<string, QgroupUsage>();
  for (const line of text.split('\n')) {
    const m = QGROUP_LINE.exec(line.trim());
    if (!m || m[5]!.startsWith('<')) continue;
    out.set(m[5]!.trim(), { referencedBytes: bytes(m[1]!, 'referenced'), limitBytes: bytes(m[3]!, 'max referenced') });
  }
  return out;
}

/**
 * Quota usage of the subvolumes below `images/`, keyed by path relative to `images/`
 * (`100/subvol-100-disk-0.subvol`). Empty on a storage without `quotas`.
 */
export async function subvolumeQuotas(bc: BtrfsContext): Promise<Map<string, QgroupUsage>> {
  if (!bc.options.quotas) return new Map();
  const rel = await btrfsRelativePath(bc.layout.imagesDir);
  const all = parseQgroupShow(await runBtrfs(bc, BtrfsCommands.qgroupShow(bc.layout.imagesDir)));
  const prefix = rel ? `${rel}/` : '';
  const out = new Map<string, QgroupUsage>();
  for (const [path, usage] of all) if (path.startsWith(prefix)) out.set(path.slice(prefix.length), usage);
  return out;
}

/**
 * Sets the size of subvolume `path` (volume `volname`) to `sizeBytes` (0: no limit).
 *
 * @throws NotSupportedError when `sizeBytes` > 0 and the storage has no `quotas`.
 */
export async function setSubvolumeSize(bc: BtrfsContext, volname: string, path: string, sizeBytes: number): Promise<void> {
  if (!bc.options.quotas) {
    if (sizeBytes === 0) return;
    throw new NotSupportedError(
      'quota',
      `storage '${bc.sid}' has no quotas: container subvolume '${volidOf(bc, volname)}' cannot have a size (set 'quotas 1' on the storage, or use size 0)`,
    );
  }
  await runBtrfs(bc, BtrfsCommands.qgroupLimit(path, sizeBytes));
}

/** Filesystems (by storage path and device) on which quotas are known to be enabled. */
export class QuotaActivation {
  readonly #enabled = new Map<string, number>();

  /**
   * Enables quota groups on the filesystem of a `quotas 1` storage, once per storage path and
   * device (`btrfs quota enable` is idempotent but starts a rescan on a filesystem that had
   * them off).
   */
  async ensure(bc: BtrfsContext, dev: number): Promise<void> {
    if (!bc.options.quotas || this.#enabled.get(bc.options.path) === dev) return;
    await runBtrfs(bc, BtrfsCommands.quotaEnable(bc.options.path));
    this.#enabled.set(bc.options.path, dev);
  }
}
