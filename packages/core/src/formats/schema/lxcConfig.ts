/**
 * The keys of a container config (pve-container's `$confdesc`) with their typed schemas, the
 * raw `lxc.*` keys Proxmox passes through to LXC, and {@link validateLxcConfig}.
 *
 * @packageDocumentation
 */
import { Type } from '@sinclair/typebox';
import { InvalidConfigError } from '../../errors.js';
import type { PendingDeletion } from '../configEntries.js';
import type { ConfigEntry } from '../guestConfig.js';
import { Digest, Flag, LXC_LOCKS, SNAPSTATES, SnapshotName, VolumeIdString, startupFormat } from './commonFields.js';
import {
  lookupKeySpec,
  pendingDeleteHook,
  validateEntries,
  type ConfigEntriesInput,
  type GuestKeyTable,
  type TableValues,
  type ValidateGuestConfigOptions,
} from './guestKeyTable.js';
import { lxcMountPointFormat, lxcRootfsFormat, lxcUnusedFormat } from './lxcMountPoint.js';
import { lxcNetFormat } from './lxcNet.js';
import { Bool, Enum, Int, Num, Str, definePropertyString, propertyKey, scalarKey, type ConfigKeySpec } from './valueSchema.js';

const opt = Type.Optional;

/** `features: nesting=1,keyctl=1,fuse=1,mknod=1,force_rw_sys=1,mount=nfs;cifs`. */
export const lxcFeaturesFormat = definePropertyString({
  name: 'features',
  properties: {
    mount: opt(Str({ pattern: '[a-zA-Z0-9_; ]+', pveMessage: "must be file system types separated by ';'" })),
    nesting: Flag(),
    keyctl: Flag(),
    fuse: Flag(),
    mknod: Flag(),
    force_rw_sys: Flag(),
  },
});

/** `devN: [path=]/dev/xyz[,mode=0660][,uid=N][,gid=N][,deny-write=1]`: a device passed through. */
export const lxcDeviceFormat = definePropertyString({
  name: 'device',
  defaultKey: 'path',
  properties: {
    path: Str({ pveFormat: 'lxc-dev-path' }),
    mode: opt(Str({ pattern: '0[0-7]{3}', pveMessage: 'must be an octal mode such as 0660' })),
    uid: opt(Int({ minimum: 0 })),
    gid: opt(Int({ minimum: 0 })),
    'deny-write': Flag(),
  },
});

/** Container OS types (`ostype:`). */
export const LXC_OSTYPES = ['debian', 'devuan', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'alpine', 'gentoo', 'nixos', 'unmanaged'] as const;

const bool = () => scalarKey(Bool());

/** The keys of a container config without an index, with their specs. */
export const LXC_CONFIG_KEYS = {
  hostname: scalarKey(Str({ pveFormat: 'dns-name', maxLength: 255 })),
  description: scalarKey(Str({ maxLength: 8192 })),
  tags: scalarKey(Str({ pveFormat: 'tag-list' })),
  lock: scalarKey(Enum(LXC_LOCKS)),
  protection: bool(),
  template: bool(),
  digest: scalarKey(Digest()),
  hookscript: scalarKey(VolumeIdString()),
  onboot: bool(),
  startup: propertyKey(startupFormat),
  arch: scalarKey(Enum(['amd64', 'i386', 'arm64', 'armhf', 'riscv32', 'riscv64'])),
  ostype: scalarKey(Enum(LXC_OSTYPES)),
  unprivileged: bool(),
  features: propertyKey(lxcFeaturesFormat),
  cores: scalarKey(Int({ minimum: 1, maximum: 8192 })),
  cpulimit: scalarKey(Num({ minimum: 0, maximum: 8192 })),
  cpuunits: scalarKey(Int({ minimum: 0, maximum: 500000 })),
  memory: scalarKey(Int({ minimum: 16 })),
  swap: scalarKey(Int({ minimum: 0 })),
  rootfs: propertyKey(lxcRootfsFormat),
  nameserver: scalarKey(Str({ pveFormat: 'ip-ll-list' })),
  searchdomain: scalarKey(Str({ pveFormat: 'dns-name-list' })),
  timezone: scalarKey(Str({ pveFormat: 'timezone' })),
  ipmanagehost: bool(),
  console: bool(),
  tty: scalarKey(Int({ minimum: 0, maximum: 6 })),
  cmode: scalarKey(Enum(['shell', 'console', 'tty'])),
  entrypoint: scalarKey(Str({ pattern: '/\\S*', pveMessage: 'must be an absolute path' })),
  debug: bool(),
  parent: scalarKey(SnapshotName()),
  snaptime: scalarKey(Int({ minimum: 0 })),
  snapstate: scalarKey(Enum(SNAPSTATES)),
} satisfies Record<string, ConfigKeySpec<any>>;

/** The indexed keys of a container config. */
export const LXC_INDEXED_KEYS = {
  net: { count: 32, spec: propertyKey(lxcNetFormat) },
  mp: { count: 256, spec: propertyKey(lxcMountPointFormat) },
  unused: { count: 256, spec: propertyKey(lxcUnusedFormat) },
  dev: { count: 256, spec: propertyKey(lxcDeviceFormat) },
} as const;

const LXC_TABLE: GuestKeyTable = { fixed: LXC_CONFIG_KEYS, indexed: LXC_INDEXED_KEYS };

/** Raw `lxc.*` keys Proxmox passes through (`$valid_lxc_conf_keys`). */
const LXC_RAW_KEYS = new Set([
  'lxc.apparmor.profile', 'lxc.apparmor.allow_incomplete', 'lxc.apparmor.allow_nesting', 'lxc.apparmor.raw',
  'lxc.selinux.context', 'lxc.include', 'lxc.arch', 'lxc.uts.name',
  'lxc.signal.halt', 'lxc.signal.reboot', 'lxc.signal.stop', 'lxc.init.cmd', 'lxc.init.cwd',
  'lxc.pty.max', 'lxc.console.logfile', 'lxc.console.path', 'lxc.tty.max', 'lxc.devtty.dir',
  'lxc.hook.autodev', 'lxc.autodev', 'lxc.kmsg', 'lxc.mount.fstab', 'lxc.mount.entry', 'lxc.mount.auto',
  'lxc.rootfs.mount', 'lxc.cap.drop', 'lxc.cap.keep', 'lxc.seccomp.profile', 'lxc.seccomp.notify.proxy',
  'lxc.seccomp.notify.cookie', 'lxc.idmap',
  'lxc.hook.pre-start', 'lxc.hook.pre-mount', 'lxc.hook.mount', 'lxc.hook.start', 'lxc.hook.stop',
  'lxc.hook.post-stop', 'lxc.hook.clone', 'lxc.hook.destroy', 'lxc.hook.version',
  'lxc.log.level', 'lxc.log.file', 'lxc.start.auto', 'lxc.start.delay', 'lxc.start.order', 'lxc.group',
  'lxc.environment', 'lxc.environment.runtime', 'lxc.environment.hooks',
  'lxc.sysctl.fs.mqueue', 'lxc.sysctl.kernel.msgmax', 'lxc.sysctl.kernel.msgmnb', 'lxc.sysctl.kernel.msgmni',
  'lxc.sysctl.kernel.sem', 'lxc.sysctl.kernel.shmall', 'lxc.sysctl.kernel.shmmax', 'lxc.sysctl.kernel.shmmni',
  'lxc.sysctl.kernel.shm_rmid_forced',
  // Deprecated names Proxmox still accepts (with a warning):
  'lxc.aa_profile', 'lxc.aa_allow_incomplete', 'lxc.console', 'lxc.devttydir', 'lxc.haltsignal', 'lxc.rebootsignal',
  'lxc.stopsignal', 'lxc.id_map', 'lxc.init_cmd', 'lxc.loglevel', 'lxc.logfile', 'lxc.mount', 'lxc.network.type',
  'lxc.network.flags', 'lxc.network.link', 'lxc.network.mtu', 'lxc.network.name', 'lxc.network.hwaddr',
  'lxc.network.ipv4', 'lxc.network.ipv4.gateway', 'lxc.network.ipv6', 'lxc.network.ipv6.gateway',
  'lxc.network.script.up', 'lxc.network.script.down', 'lxc.pts', 'lxc.se_context', 'lxc.seccomp', 'lxc.tty', 'lxc.utsname',
]);

/** Raw keys Proxmox refuses, with its reason. */
const LXC_FORBIDDEN_RAW_KEYS: Readonly<Record<string, string>> = {
  'lxc.rootfs.path': 'lxc.rootfs.path is generated from rootfs',
  'lxc.rootfs.options': "lxc.rootfs.options is not supported, use the mount point options of the 'rootfs' key",
};

/**
 * Whether `key` is a raw LXC key Proxmox passes through: the keys of its list,
 * `lxc.cgroup.*`, `lxc.cgroup2.*`, `lxc.prlimit.*`, `lxc.limit.*` and `lxc.net.*`.
 */
export function isPassthroughLxcKey(key: string): boolean {
  return LXC_RAW_KEYS.has(key) || /^lxc\.(?:cgroup2?|prlimit|limit|net)\.[a-z0-9_.-]+$/.test(key);
}

/**
 * The typed values of a container config, by key. Raw `lxc.*` entries are kept in `lxc`, in
 * order (keys may repeat). `delete` (pending section only) is the parsed deletion list.
 */
export type LxcConfigValues = TableValues<typeof LXC_CONFIG_KEYS, typeof LXC_INDEXED_KEYS> & {
  lxc?: ConfigEntry[];
  delete?: PendingDeletion[];
};

/**
 * Validates the entries of a container config section (main, pending, snapshot) and returns
 * their typed values.
 *
 * @param entries - The section's entries (`GuestConfigSection.entries`) or a key → value record.
 * @returns Typed values by key, in entry order; raw `lxc.*` entries under `lxc`.
 * @throws InvalidConfigError whose `key` and message name the key and the value, for an
 *   unknown key (including `lxc.*` keys Proxmox does not pass through), a repeated key,
 *   `delete` outside a pending section, or a malformed value (bad size, MAC address, bridge
 *   name, volume, out-of-range number, unknown enum value...).
 */
export function validateLxcConfig(entries: ConfigEntriesInput, options: ValidateGuestConfigOptions = {}): LxcConfigValues {
  const deleteHook = pendingDeleteHook(LXC_TABLE, options, isPassthroughLxcKey);
  return validateEntries(LXC_TABLE, entries, {
    what: 'container',
    special: (key, value, out) => {
      if (key.startsWith('lxc.')) {
        const forbidden = Object.hasOwn(LXC_FORBIDDEN_RAW_KEYS, key) ? LXC_FORBIDDEN_RAW_KEYS[key] : undefined;
        if (forbidden) throw new InvalidConfigError(key, value, `${forbidden} (value '${value}')`);
        if (!isPassthroughLxcKey(key)) {
          throw new InvalidConfigError(key, value, `unknown or unsupported raw LXC key '${key}' (value '${value}')`);
        }
        if (!Array.isArray(out.lxc)) out.lxc = [];
        (out.lxc as ConfigEntry[]).push({ key, value });
        return true;
      }
      return deleteHook(key, value, out);
    },
  }) as LxcConfigValues;
}

/** The spec of a container config key (`undefined` for an unknown key or a raw `lxc.*` key). */
export function lxcKeySpec(key: string): ConfigKeySpec<unknown> | undefined {
  return lookupKeySpec(LXC_TABLE, key);
}
