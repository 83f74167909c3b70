/**
 * The argv of every `btrfs` (btrfs-progs) command the driver runs, in one place so that the
 * argv tests check exactly what runs. Paths are absolute; `--` ends the options wherever
 * btrfs-progs takes it, so a path never reads as an option.
 *
 * @packageDocumentation
 */
export const BtrfsCommands = {
  /** Creates a subvolume at `path`. */
  subvolumeCreate: (path: string) => ['btrfs', '-q', 'subvolume', 'create', '--', path],
  /** A snapshot of `source` at `target`; `readOnly` for `-r`. */
  snapshot: (source: string, target: string, readOnly: boolean) =>
    ['btrfs', '-q', 'subvolume', 'snapshot', ...(readOnly ? ['-r'] : []), '--', source, target],
  /** Deletes subvolumes (snapshots first, as BTRFSPlugin's `free_image`). */
  subvolumeDelete: (paths: readonly string[]) => ['btrfs', '-q', 'subvolume', 'delete', '--', ...paths],
  /**
   * Every subvolume of the filesystem holding `path`, with parent UUID and UUID, paths relative
   * to the filesystem's top level (`ID 258 gen 8 top level 5 parent_uuid <u> uuid <u> path <p>`).
   */
  subvolumeList: (path: string) => ['btrfs', 'subvolume', 'list', '-u', '-q', path],
  /** The subvolume id of the subvolume holding `path`. */
  rootId: (path: string) => ['btrfs', 'inspect-internal', 'rootid', '--', path],
  /** Sets the read-only property; `force` (`-f`) is needed to clear it on a received subvolume. */
  setReadOnly: (path: string, readOnly: boolean, force = false) =>
    ['btrfs', 'property', 'set', ...(force ? ['-f'] : []), path, 'ro', readOnly ? 'true' : 'false'],
  /** Enables quota groups on the filesystem holding `path`. */
  quotaEnable: (path: string) => ['btrfs', 'quota', 'enable', path],
  /** Every quota group of the filesystem holding `path`, with limits and paths, sizes in bytes. */
  qgroupShow: (path: string) => ['btrfs', 'qgroup', 'show', '-re', '--raw', path],
  /** Limits the referenced bytes of the subvolume at `path` (`none` removes the limit). */
  qgroupLimit: (path: string, bytes: number) => ['btrfs', 'qgroup', 'limit', bytes > 0 ? String(bytes) : 'none', path],
  /** A send stream of `paths` (read-only snapshots), Proxmox's flags: `-e` between subvolumes. */
  send: (paths: readonly string[]) => ['btrfs', '-q', 'send', '-e', '--', ...paths],
  /** Receives a send stream into directory `dir`. */
  receive: (dir: string) => ['btrfs', '-q', 'receive', '-e', '--', dir],
  /** Copies a directory's contents as reflinks where possible (shared extents), keeping owners, modes, links and xattrs. */
  reflinkCopy: (sourceContents: string, targetDir: string) => ['cp', '-a', '--reflink=auto', '--no-target-directory', '--', sourceContents, targetDir],
  /** Sets the NOCOW attribute on an empty file, or on a directory for the files made in it (e2fsprogs' chattr works on btrfs). */
  nocow: (path: string) => ['chattr', '+C', '--', path],
} as const;
