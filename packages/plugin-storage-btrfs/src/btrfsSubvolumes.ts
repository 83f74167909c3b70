/**
 * What btrfs knows about the subvolumes of a storage: UUIDs and parent UUIDs (which
 * subvolume a snapshot was taken of), read with one `btrfs subvolume list`.
 *
 * @packageDocumentation
 */
import { ParseError } from '@corral/core';
import { BtrfsCommands } from './BtrfsCommands.js';
import { runBtrfs, type BtrfsContext } from './BtrfsContext.js';
import { btrfsRelativePath } from './btrfsRelativePath.js';

/** One subvolume of a `btrfs subvolume list -u -q` listing. */
export interface SubvolumeEntry {
  /** Subvolume id. */
  readonly id: number;
  /** UUID of the subvolume it is a snapshot of, if any. */
  readonly parentUuid?: string;
  readonly uuid: string;
  /** Path relative to the filesystem's top level. */
  readonly path: string;
}

const LIST_LINE = /^ID (\d+) gen \d+ top level \d+ parent_uuid (\S+)\s+uuid (\S+) path (.+)$/;

/** Parses `btrfs subvolume list -u -q` output (btrfs-progs 6.x). */
export function parseSubvolumeList(text: string): SubvolumeEntry[] {
  const out: SubvolumeEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = LIST_LINE.exec(line);
    if (!m) throw new ParseError('btrfs subvolume list', `unexpected line '${line}'`);
    out.push({ id: Number(m[1]), parentUuid: m[2] === '-' ? undefined : m[2], uuid: m[3]!, path: m[4]! });
  }
  return out;
}

/**
 * The subvolumes below the storage's `images/` directory, keyed by their path relative to
 * `images/` (`100/vm-100-disk-0`, `100/vm-100-disk-0@snap1`), and every subvolume by UUID.
 */
export interface StorageSubvolumes {
  readonly byPath: ReadonlyMap<string, SubvolumeEntry>;
  readonly byUuid: ReadonlyMap<string, SubvolumeEntry & { readonly imagesPath?: string }>;
}

/** Reads {@link StorageSubvolumes} (one `btrfs subvolume list`). */
export async function storageSubvolumes(bc: BtrfsContext): Promise<StorageSubvolumes> {
  const rel = await btrfsRelativePath(bc.layout.imagesDir);
  const entries = parseSubvolumeList(await runBtrfs(bc, BtrfsCommands.subvolumeList(bc.layout.imagesDir)));
  const prefix = rel === undefined || rel === '' ? '' : `${rel}/`;
  const byPath = new Map<string, SubvolumeEntry>();
  const byUuid = new Map<string, SubvolumeEntry & { imagesPath?: string }>();
  for (const e of entries) {
    const inside = rel !== undefined && e.path.startsWith(prefix) ? e.path.slice(prefix.length) : undefined;
    if (inside !== undefined) byPath.set(inside, e);
    byUuid.set(e.uuid, { ...e, imagesPath: inside });
  }
  return { byPath, byUuid };
}
