/**
 * The storage types of Proxmox VE 8/9 and the storage.cfg options each accepts, as pve-storage
 * declares them (`PVE::Storage::Plugin` `$defaultData->{propertyList}`, each
 * `<Type>Plugin.pm` `properties()`, `options()` and `plugindata()`), plus options older
 * releases wrote that a Proxmox user's file may still hold (`maxfiles`, `glusterfs`).
 *
 * Corral uses this table to read a storage.cfg written by Proxmox whether or not a driver for
 * a type is loaded: option names and values are checked as Proxmox checks them, and a section
 * of a type without a driver is still a definition (listed, kept on writes), only inactive.
 *
 * @packageDocumentation
 */
/** Every content type Proxmox VE 8/9 knows (`pve-storage-content`), `none` included. */
export const PROXMOX_CONTENT_TYPES = Object.freeze(['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import', 'none'] as const);

/** A content type of {@link PROXMOX_CONTENT_TYPES}. */
export type ProxmoxContent = (typeof PROXMOX_CONTENT_TYPES)[number];

/** Why `value` is not a valid value, or `undefined` when it is. */
export type OptionCheck = (value: string) => string | undefined;

/** One Proxmox storage type. */
export interface ProxmoxStorageType {
  /** Content types the type can hold (`plugindata().content[0]`). */
  readonly content: readonly ProxmoxContent[];
  /** Content used when a section names none (`plugindata().content[1]`). */
  readonly defaultContent: readonly ProxmoxContent[];
  /** True for the types Proxmox marks shared on its own (`%PVE::Storage::sharedStorage`). */
  readonly shared: boolean;
  /** Option names the type accepts besides `content`, `nodes`, `disable`, `shared` (`options()`). */
  readonly options: readonly string[];
  /** Image formats of its `format` option, when it has one. */
  readonly formats?: readonly string[];
}

const BOOLEAN = /^(?:1|0|true|false|yes|no|on|off)$/i;

/**
 * A Proxmox boolean as written in storage.cfg: `1`/`0`/`true`/`false`/`yes`/`no`/`on`/`off`
 * (any case), or `''` for a key written alone (`sparse`, `disable`), which means true (pve-common
 * `SectionConfig::check_value`).
 */
export function isProxmoxBoolean(value: string): boolean {
  return value === '' || BOOLEAN.test(value);
}

const boolean: OptionCheck = (v) => (isProxmoxBoolean(v) ? undefined : 'expected a boolean (1, 0, yes, no, on, off, true, false, or the key alone)');
const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): OptionCheck =>
  (v) =>
    /^-?\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `expected an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`;
const oneOf =
  (...values: string[]): OptionCheck =>
  (v) =>
    values.includes(v) ? undefined : `expected one of ${values.join(', ')}`;
const pattern =
  (re: RegExp, what: string): OptionCheck =>
  (v) =>
    re.test(v) ? undefined : `expected ${what}`;
/** Any text without blanks (Proxmox `type => 'string'` options that name things). */
const word = pattern(/^\S+$/, 'a value without blanks');
const text: OptionCheck = (v) => (v === '' ? 'expected a value' : undefined);
/** pve-storage `verify_path` (absolute, no `;`, `(`, `)`; Corral refuses them anywhere in it). */
const path = pattern(/^\/[^;()]*$/, "an absolute path without ';', '(' or ')'");
/** Splits a list option (`,`, `;` or blanks between items), as pve-tools `split_list`. */
function listItems(value: string): string[] {
  return value.split(/[,;\s]+/).filter(Boolean);
}
/** pve-storage `verify_server`: an IP address or a DNS name (IPv6 without brackets). */
const server = pattern(/^[A-Za-z0-9][A-Za-z0-9.:-]*$/, 'an IP address or a DNS name');
/** `host[:port]`, IPv6 in brackets (`pve-storage-portal-dns`). */
const PORTAL = /^(?:\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?|[A-Za-z0-9][A-Za-z0-9.:_-]*)$/;
const portal = pattern(PORTAL, 'host[:port]');
const portalList: OptionCheck = (v) => {
  const items = listItems(v);
  const bad = items.find((item) => !PORTAL.test(item));
  return items.length === 0 ? 'expected a list of host[:port]' : bad === undefined ? undefined : `'${bad}' is not host[:port]`;
};
/** pve-storage `parse_lvm_name`. */
const lvmName = pattern(/^[a-z0-9][a-z0-9\-_.]*[a-z0-9]$/i, 'an LVM name (letters, digits, -, _, .)');

function keyValueList(keys: readonly string[], value: OptionCheck, what: string): OptionCheck {
  return (v) => {
    const seen = new Set<string>();
    for (const item of listItems(v)) {
      const eq = item.indexOf('=');
      const key = eq < 0 ? item : item.slice(0, eq);
      if (eq < 0 || !keys.includes(key)) return `expected ${what}; '${item}' is not one (keys: ${keys.join(', ')})`;
      if (seen.has(key)) return `'${key}' is given twice`;
      seen.add(key);
      const problem = value(item.slice(eq + 1));
      if (problem) return `'${item}': ${problem}`;
    }
    return seen.size === 0 ? `expected ${what}` : undefined;
  };
}

const PRUNE_KEYS = ['keep-all', 'keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly'];
/** pve-storage `prune-backups`: `keep-all=1` or `keep-<period>=<n>`, comma separated. */
const pruneBackups: OptionCheck = (v) => {
  const problem = keyValueList(PRUNE_KEYS, pattern(/^\d+$/, 'a whole number'), 'keep-<all|last|hourly|daily|weekly|monthly|yearly>=<n>')(v);
  if (problem) return problem;
  const set = listItems(v).filter((item) => Number(item.slice(item.indexOf('=') + 1)) !== 0);
  if (set.some((item) => item.startsWith('keep-all=')) && set.length > 1) return 'keep-all cannot be set together with other options';
  return undefined;
};

/** Keys of the `bwlimit` option (pve-common `bwlimit` format). Values are KiB/s. */
export const BWLIMIT_KEYS = Object.freeze(['default', 'restore', 'migration', 'clone', 'move'] as const);
/** pve-common `is_number`. */
const PERL_NUMBER = /^[+-]?(?:\d+\.\d+|\d+\.|\.\d+|\d+)(?:[eE][+-]?\d+)?$/;
/**
 * pve-common's `bwlimit` property string (`[clone=<LIMIT>][,default=<LIMIT>][,migration=<LIMIT>]
 * [,move=<LIMIT>][,restore=<LIMIT>]`, KiB/s) as `parse_property_string` reads it: parts split
 * on `,` (blank parts skipped), each `<key>=<number>` with a key of {@link BWLIMIT_KEYS} given
 * once and a number (Perl's `is_number`) of at least 0. Every storage type's `bwlimit` is
 * checked by this one rule, whatever a driver's schema says (see `storageOptionsProblem`).
 */
const bwlimit: OptionCheck = (v) => {
  const seen = new Set<string>();
  for (const part of v.split(',')) {
    if (/^\s*$/.test(part)) continue;
    const m = /^([^=]+)=(.+)$/.exec(part);
    if (!m || !(BWLIMIT_KEYS as readonly string[]).includes(m[1]!)) return `'${part}' is not <${BWLIMIT_KEYS.join('|')}>=<KiB/s>`;
    if (seen.has(m[1]!)) return `duplicate key '${m[1]}'`;
    seen.add(m[1]!);
    if (!PERL_NUMBER.test(m[2]!) || Number(m[2]) < 0) return `'${m[2]}' for ${m[1]} is not a number of KiB/s (at least 0)`;
  }
  return undefined;
};

/** pve-storage `verify_dir_override`: `<content>=<relative path>`. */
const contentDirs: OptionCheck = (v) => {
  for (const item of listItems(v)) {
    const m = /^([a-z]+)=(.+)$/.exec(item);
    if (!m || !(PROXMOX_CONTENT_TYPES as readonly string[]).includes(m[1]!) || m[1] === 'none') return `invalid override '${item}': expected <content type>=<relative path>`;
    const dir = m[2]!;
    if (dir.length >= 1023 || dir.split('/').some((part) => part === '..' || part.length >= 255)) return `invalid override '${item}': the path is too long or leaves the storage`;
  }
  return undefined;
};

const NODE = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
/** `nodes`: node names separated by `,`, `;` or blanks (`pve-node-list`). */
const nodes: OptionCheck = (v) => {
  const bad = listItems(v).find((n) => !NODE.test(n));
  return bad === undefined ? undefined : `'${bad}' is not a node name`;
};

const contentList: OptionCheck = (v) => {
  const items = listItems(v);
  for (const c of items) if (!(PROXMOX_CONTENT_TYPES as readonly string[]).includes(c)) return `unknown content type '${c}' (allowed: ${PROXMOX_CONTENT_TYPES.join(', ')})`;
  if (items.includes('none') && items.length > 1) return "'none' cannot be combined with other content types";
  return undefined;
};

/** How Proxmox checks the value of each storage.cfg option (the union over every type). */
export const PROXMOX_OPTION_CHECKS: Readonly<Record<string, OptionCheck>> = Object.freeze({
  content: contentList,
  nodes,
  disable: boolean,
  shared: boolean,
  'prune-backups': pruneBackups,
  'max-protected-backups': integer(-1),
  /** Removed in Proxmox VE 7 (replaced by `prune-backups`); kept when a file still has it. */
  maxfiles: integer(0),
  bwlimit,
  'content-dirs': contentDirs,
  format: oneOf('raw', 'qcow2', 'vmdk', 'subvol'),
  preallocation: oneOf('off', 'metadata', 'falloc', 'full'),
  'snapshot-as-volume-chain': boolean,
  path,
  mkdir: boolean,
  'create-base-path': boolean,
  'create-subdirs': boolean,
  is_mountpoint: text,
  subdir: path,
  options: word,
  port: integer(1, 65535),
  server,
  server2: server,
  export: path,
  share: word,
  username: word,
  password: text,
  domain: word,
  smbversion: oneOf('default', '2.0', '2.1', '3', '3.0', '3.11'),
  portal,
  target: word,
  vgname: lvmName,
  thinpool: lvmName,
  base: word,
  saferemove: boolean,
  'saferemove-stepsize': oneOf('1', '2', '4', '8', '16', '32'),
  saferemove_throughput: word,
  tagged_only: boolean,
  pool: word,
  blocksize: pattern(/^[1-9][0-9]*[kKmM]?$/, 'a block size such as 8k or 16k'),
  sparse: boolean,
  mountpoint: path,
  iscsiprovider: oneOf('comstar', 'istgt', 'iet', 'LIO'),
  nowritecache: boolean,
  comstar_tg: word,
  comstar_hg: word,
  lio_tpg: word,
  'zfs-base-path': path,
  monhost: portalList,
  'data-pool': word,
  namespace: word,
  authsupported: word,
  krbd: boolean,
  keyring: text,
  fuse: boolean,
  'fs-name': pattern(/^[A-Za-z][A-Za-z0-9_-]+$/, 'a CephFS name'),
  nocow: boolean,
  volume: word,
  transport: oneOf('tcp', 'rdma', 'unix'),
  datastore: word,
  fingerprint: pattern(/^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, 'a SHA-256 fingerprint (32 hex pairs separated by colons)'),
  'encryption-key': text,
  'master-pubkey': text,
  'skip-cert-verification': boolean,
});

const FILE_CONTENT: readonly ProxmoxContent[] = ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import'];
const DIR_LIKE = ['path', 'content-dirs', 'prune-backups', 'max-protected-backups', 'maxfiles', 'format', 'mkdir', 'create-base-path', 'create-subdirs', 'bwlimit', 'preallocation', 'snapshot-as-volume-chain'];

/** Proxmox VE 8/9 storage types by name. */
export const PROXMOX_STORAGE_TYPES: Readonly<Record<string, ProxmoxStorageType>> = Object.freeze({
  dir: { content: [...FILE_CONTENT, 'none'], defaultContent: ['images', 'rootdir'], shared: false, options: [...DIR_LIKE, 'is_mountpoint'], formats: ['raw', 'qcow2', 'vmdk', 'subvol'] },
  btrfs: {
    content: [...FILE_CONTENT, 'none'],
    defaultContent: ['images', 'rootdir'],
    shared: false,
    options: ['path', 'prune-backups', 'max-protected-backups', 'format', 'is_mountpoint', 'nocow', 'mkdir', 'create-base-path', 'create-subdirs', 'preallocation'],
    formats: ['raw', 'subvol'],
  },
  nfs: { content: FILE_CONTENT, defaultContent: ['images'], shared: true, options: [...DIR_LIKE, 'server', 'export', 'options'], formats: ['raw', 'qcow2', 'vmdk'] },
  cifs: {
    content: FILE_CONTENT,
    defaultContent: ['images'],
    shared: true,
    options: [...DIR_LIKE, 'server', 'share', 'subdir', 'username', 'password', 'domain', 'smbversion', 'options'],
    formats: ['raw', 'qcow2', 'vmdk'],
  },
  /** Removed in Proxmox VE 9; a VE 8 cluster's file may hold it. */
  glusterfs: {
    content: ['images', 'vztmpl', 'iso', 'backup', 'snippets', 'import'],
    defaultContent: ['images'],
    shared: true,
    options: ['path', 'server', 'server2', 'volume', 'transport', 'maxfiles', 'prune-backups', 'max-protected-backups', 'format', 'mkdir', 'create-base-path', 'create-subdirs', 'bwlimit', 'preallocation'],
    formats: ['raw', 'qcow2', 'vmdk'],
  },
  cephfs: {
    content: ['vztmpl', 'iso', 'backup', 'snippets', 'import'],
    defaultContent: ['backup'],
    shared: true,
    options: ['path', 'content-dirs', 'monhost', 'subdir', 'options', 'username', 'format', 'mkdir', 'create-base-path', 'create-subdirs', 'fuse', 'bwlimit', 'keyring', 'prune-backups', 'max-protected-backups', 'maxfiles', 'fs-name'],
  },
  lvm: {
    content: ['images', 'rootdir'],
    defaultContent: ['images'],
    shared: false,
    options: ['vgname', 'base', 'saferemove', 'saferemove-stepsize', 'saferemove_throughput', 'tagged_only', 'bwlimit', 'snapshot-as-volume-chain'],
    formats: ['raw', 'qcow2'],
  },
  lvmthin: { content: ['images', 'rootdir'], defaultContent: ['images', 'rootdir'], shared: false, options: ['thinpool', 'vgname', 'bwlimit'] },
  iscsi: { content: ['images', 'none'], defaultContent: ['images'], shared: true, options: ['portal', 'target', 'bwlimit'] },
  iscsidirect: { content: ['images', 'none'], defaultContent: ['images'], shared: true, options: ['portal', 'target', 'bwlimit'] },
  rbd: { content: ['images', 'rootdir'], defaultContent: ['images'], shared: true, options: ['monhost', 'pool', 'data-pool', 'namespace', 'username', 'krbd', 'keyring', 'bwlimit'] },
  zfspool: { content: ['images', 'rootdir'], defaultContent: ['images', 'rootdir'], shared: false, options: ['pool', 'blocksize', 'sparse', 'bwlimit', 'mountpoint'], formats: ['raw', 'subvol'] },
  zfs: {
    content: ['images'],
    defaultContent: ['images'],
    shared: true,
    options: ['portal', 'target', 'pool', 'blocksize', 'iscsiprovider', 'nowritecache', 'sparse', 'comstar_hg', 'comstar_tg', 'lio_tpg', 'bwlimit', 'zfs-base-path'],
  },
  pbs: {
    content: ['backup', 'none'],
    defaultContent: ['backup'],
    shared: true,
    options: ['server', 'datastore', 'namespace', 'port', 'username', 'password', 'encryption-key', 'master-pubkey', 'prune-backups', 'max-protected-backups', 'maxfiles', 'fingerprint'],
  },
  esxi: { content: ['import'], defaultContent: ['import'], shared: false, options: ['server', 'username', 'password', 'skip-cert-verification', 'port'], formats: ['raw', 'qcow2', 'vmdk'] },
});

/**
 * Options whose format core alone decides, for every storage type, even when a driver's
 * `optionsSchema` declares them too: the driver's schema is checked first, then core's rule
 * (`bwlimit`: Proxmox's property string, decoded by `storageBandwidthLimit`).
 */
export const CORE_CHECKED_OPTIONS = Object.freeze(['bwlimit']);

/** Options every type accepts (Corral lets every type set `shared`, as a driver may be network storage). */
export const COMMON_PROXMOX_OPTIONS = Object.freeze(['content', 'nodes', 'disable', 'shared']);

/** The Proxmox type `type`, or `undefined` when Proxmox has no such type (a third-party one). */
export function proxmoxStorageType(type: string): ProxmoxStorageType | undefined {
  return Object.hasOwn(PROXMOX_STORAGE_TYPES, type) ? PROXMOX_STORAGE_TYPES[type] : undefined;
}

