/**
 * argv builders for every `zfs`/`zpool` command the zfspool driver runs. Pure functions, so
 * tests compare argv exactly.
 *
 * Forms are chosen so that their output is the same on OpenZFS 2.x and zfs-fuse 0.7 (the ZFS
 * these machines run): exact numbers come from `zfs get -Hp -o name,property,value` (zfs-fuse
 * has no `zfs list -p`, and no `-t` on `zfs get`), sizes are given in bytes.
 *
 * @packageDocumentation
 */

/** Options of `ZfsCommands.get`. */
export interface ZfsGetOptions {
  /** `-d <n>`: children down to this depth (snapshots of a dataset are one level below it). */
  readonly depth?: number;
  /** `-r`: every descendant. */
  readonly recursive?: boolean;
}

/** Options of `ZfsCommands.createFilesystem`. */
export interface ZfsCreateFilesystemOptions {
  /** `refquota` in bytes; 0 or undefined = `none`. */
  readonly refquotaBytes?: number;
  /**
   * Add Proxmox's `-o acltype=posixacl -o xattr=sa` (POSIX ACLs inside containers). Only for a
   * ZFS that knows `acltype` (OpenZFS); zfs-fuse rejects both.
   */
  readonly posixAcl?: boolean;
}

/** Options of `ZfsCommands.createVolume`. */
export interface ZfsCreateVolumeOptions {
  /** `volsize` in bytes (the caller rounds it as it needs). */
  readonly sizeBytes: number;
  /** `-s`: no reservation. */
  readonly sparse?: boolean;
  /** `-b <blocksize>` as written in storage.cfg (`16k`). */
  readonly blocksize?: string;
}

/** argv of the zfs/zpool commands of the zfspool driver. */
export const ZfsCommands = Object.freeze({
  /** `zfs get -Hp [-r|-d N] -o name,property,value <props> <targets...>`: one `name\tproperty\tvalue` line each. */
  get(props: readonly string[], targets: readonly string[], options: ZfsGetOptions = {}): string[] {
    const scope = options.recursive ? ['-r'] : options.depth !== undefined ? ['-d', String(options.depth)] : [];
    return ['zfs', 'get', '-Hp', ...scope, '-o', 'name,property,value', props.join(','), ...targets];
  },

  /** `zfs get -H -o value <prop> <target>`: probes whether this ZFS knows a property (exit 2 when not). */
  probeProperty(prop: string, target: string): string[] {
    return ['zfs', 'get', '-H', '-o', 'value', prop, target];
  },

  /** `zfs create [-o acltype=posixacl -o xattr=sa] -o refquota=<bytes|none> <dataset>`. */
  createFilesystem(dataset: string, options: ZfsCreateFilesystemOptions = {}): string[] {
    const acl = options.posixAcl ? ['-o', 'acltype=posixacl', '-o', 'xattr=sa'] : [];
    const quota = options.refquotaBytes ? String(options.refquotaBytes) : 'none';
    return ['zfs', 'create', ...acl, '-o', `refquota=${quota}`, dataset];
  },

  /** `zfs create [-s] [-b <blocksize>] -V <bytes> <dataset>` (a zvol). */
  createVolume(dataset: string, options: ZfsCreateVolumeOptions): string[] {
    return [
      'zfs',
      'create',
      ...(options.sparse ? ['-s'] : []),
      ...(options.blocksize ? ['-b', options.blocksize] : []),
      '-V',
      String(options.sizeBytes),
      dataset,
    ];
  },

  /** `zfs destroy [-r] <dataset or snapshot>`. */
  destroy(target: string, options: { recursive?: boolean } = {}): string[] {
    return ['zfs', 'destroy', ...(options.recursive ? ['-r'] : []), target];
  },

  /** `zfs snapshot <dataset>@<snap>`. */
  snapshot(snapshot: string): string[] {
    return ['zfs', 'snapshot', snapshot];
  },

  /** `zfs rollback <dataset>@<snap>` (no `-r`: refuses when newer snapshots exist, as Proxmox). */
  rollback(snapshot: string): string[] {
    return ['zfs', 'rollback', snapshot];
  },

  /** `zfs rename <from> <to>`. */
  rename(from: string, to: string): string[] {
    return ['zfs', 'rename', from, to];
  },

  /** `zfs clone <snapshot> <dataset> [-o refquota=<bytes>]` (Proxmox's order). */
  clone(snapshot: string, dataset: string, options: { refquotaBytes?: number } = {}): string[] {
    return ['zfs', 'clone', snapshot, dataset, ...(options.refquotaBytes ? ['-o', `refquota=${options.refquotaBytes}`] : [])];
  },

  /** `zfs set <prop>=<value> <target>`. */
  set(target: string, prop: string, value: string): string[] {
    return ['zfs', 'set', `${prop}=${value}`, target];
  },

  /** `zfs mount <dataset>`. */
  mount(dataset: string): string[] {
    return ['zfs', 'mount', dataset];
  },

  /** `zfs unmount <dataset>`. */
  unmount(dataset: string): string[] {
    return ['zfs', 'unmount', dataset];
  },

  /**
   * `zfs send -p -- <snapshot>`: a full, self-contained stream of one snapshot with its
   * properties (also of a clone: no dependency on the origin). zfs-fuse and OpenZFS both take it.
   */
  send(snapshot: string): string[] {
    return ['zfs', 'send', '-p', '--', snapshot];
  },

  /** `zfs recv -- <dataset>` (no `-F`: never overwrites an existing dataset). */
  recv(dataset: string): string[] {
    return ['zfs', 'recv', '--', dataset];
  },

  /** `zpool list -H -o name <pool>`: exit 0 when the pool is imported. */
  zpoolList(pool: string): string[] {
    return ['zpool', 'list', '-H', '-o', 'name', pool];
  },

  /** `zpool import -d /dev/disk/by-id -o cachefile=none <pool>` (Proxmox's activate_storage). */
  zpoolImport(pool: string): string[] {
    return ['zpool', 'import', '-d', '/dev/disk/by-id', '-o', 'cachefile=none', pool];
  },
});
