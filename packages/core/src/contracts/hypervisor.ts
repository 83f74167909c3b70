/**
 * The hypervisor-driver contract (guest types `qemu` and `lxc`).
 *
 * The {@link GuestFacade} (`kernel.guests`) owns guest configs, the per-guest lock, the
 * persistent `lock:` key, tasks, snapshot sections, pending changes and undo. A driver turns a
 * config into a running guest and back: it never writes the guest config and never takes the
 * guest lock (it runs under the lock the facade holds).
 *
 * Configs reach a driver as {@link GuestConfigEntries}: the current section of the guest's
 * `.conf` (Proxmox keys, raw string values, in file order).
 *
 * @packageDocumentation
 */
import type { Duplex } from 'node:stream';
import type { CommandRunner } from '../exec/CommandRunner.js';
import type { Logger } from '../util/Logger.js';
import type { Reverter } from '../util/Reverter.js';
import type { PrivilegedUse } from '../security/Caller.js';
import type { StorageContent, VolumeAccess, VolumeConsumer, VolumeFormat } from './storage.js';
import type { GuestNetworkAccess } from './network.js';

/** The guest types core knows without being told (Proxmox's VMs and containers). */
export type BuiltinGuestType = 'qemu' | 'lxc';

/**
 * Guest type id; also the plugin's hypervisor key. Open: a plugin may add a type (lowercase
 * letters, digits, `-`, `.`), described by its driver's {@link HypervisorInfo}.
 */
export type GuestType = BuiltinGuestType | (string & {});

/**
 * The Proxmox config file dialect of a guest type: `qemu` (qemu-server: `[PENDING]`,
 * `[special:...]`) or `lxc` (pve-container: raw `lxc.*` keys, `[pve:pending]`).
 */
export type GuestConfigDialect = BuiltinGuestType;

/** The current section of a guest config: Proxmox keys to raw values, in file order. */
export type GuestConfigEntries = Readonly<Record<string, string>>;

/** Runtime state of a guest. `paused` is a QEMU pause, `frozen` an LXC freeze, `suspended` saved to disk. */
export type GuestState = 'running' | 'stopped' | 'paused' | 'frozen' | 'suspended';

/** What {@link HypervisorDriver.status} reports. Sizes in bytes, times in seconds. */
export interface GuestRuntimeStatus {
  readonly state: GuestState;
  /** Main process (QEMU, or the container's init as seen from the host). */
  readonly pid?: number;
  readonly uptimeSec?: number;
  /** Memory in use. */
  readonly memoryBytes?: number;
  /** Configured maximum memory. */
  readonly maxMemoryBytes?: number;
  /** CPU time consumed, seconds. */
  readonly cpuSeconds?: number;
  /** Driver-specific detail (QMP `query-status`, cgroup paths...). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** A storage volume referenced by a guest config key. */
export interface GuestVolumeRef {
  /** Config key (`scsi0`, `rootfs`, `mp0`, `vmstate`...). */
  readonly key: string;
  /** `storeid:volname`. */
  readonly volid: string;
  /** `images` for VM disks, `rootdir` for container volumes, `iso` for cdroms. */
  readonly content: StorageContent;
  /** True for removable media (cdroms): never freed, never snapshotted or cloned. */
  readonly isCdrom: boolean;
  /** True when the volume is shared with other guests or external (bind mounts, `backup=0`...): never freed. */
  readonly isExternal?: boolean;
}

/** A new volume a config asks for with Proxmox's `storeid:SIZE_IN_GiB` syntax. */
export interface GuestVolumeRequest {
  readonly key: string;
  readonly storage: string;
  readonly sizeBytes: number;
  readonly content: StorageContent;
  /** Requested format, or the storage's default. */
  readonly format?: VolumeFormat;
}

/**
 * Storage as a driver sees it: the facade's operations bound to the kernel, with capability
 * checks done. Volume ids are `storeid:volname`.
 */
export interface GuestStorageAccess {
  resolve(volid: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess>;
  deactivateVolume(volid: string, options?: { snapshot?: string }): Promise<void>;
  /** Allocates the next free `vm-<vmid>-disk-<n>` (or `subvol-...`) on `storage`; returns the volid. */
  allocate(options: { storage: string; vmid: number; sizeBytes: number; content: StorageContent; format?: VolumeFormat }): Promise<string>;
  free(volid: string): Promise<void>;
  snapshotCreate(volid: string, snapshot: string): Promise<void>;
  snapshotRollback(volid: string, snapshot: string): Promise<void>;
  snapshotDelete(volid: string, snapshot: string): Promise<void>;
  /** True when the volume's storage can snapshot it in its current state. */
  canSnapshot(volid: string): Promise<boolean>;
  /** Virtual size in bytes. */
  sizeOf(volid: string): Promise<number>;
}

/** What a driver gets with every call. */
export interface GuestContext {
  readonly vmid: number;
  readonly node: string;
  readonly runner: CommandRunner;
  /**
   * This guest's private run directory (sockets, pid file, generated configs); exists. A
   * running guest always has one: the facade reports a guest without it as stopped without
   * calling {@link HypervisorDriver.status}.
   */
  readonly runDir: string;
  /** The task log (or the kernel logger outside tasks). */
  readonly log: Logger;
  readonly storage: GuestStorageAccess;
  /**
   * Plugs and unplugs the host side of the guest's NICs (taps, veths) into bridges, with the
   * hooks plugins registered (since plugin API 4; drivers written for older versions ignore
   * it and keep plugging themselves). Drivers never touch bridges themselves.
   */
  readonly network: GuestNetworkAccess;
  readonly signal?: AbortSignal;
}

/** A console endpoint a proxy can bridge. */
export type ConsoleEndpoint =
  /** A unix socket speaking the named protocol (`rfb` for VNC, `serial` raw bytes). */
  | { readonly kind: 'unix'; readonly protocol: 'rfb' | 'serial'; readonly path: string }
  /** An open byte stream (container console); closing it detaches. */
  | { readonly kind: 'stream'; readonly protocol: 'serial'; readonly stream: Duplex };

/** Result of {@link HypervisorDriver.applyChanges}: which keys took effect now, which wait for the next start. */
export interface ApplyChangesResult {
  readonly applied: readonly string[];
  readonly pending: readonly string[];
}

/** Capability record of a hypervisor driver. */
export interface HypervisorInfo {
  readonly type: GuestType;
  /** Directory of configs under `nodes/<node>/` (`qemu-server`, `lxc`). */
  readonly configDir: string;
  /** True when snapshots may include RAM state (`vmstate`). */
  readonly snapshotWithState: boolean;
  /** True when {@link HypervisorDriver.suspend} can save to disk. */
  readonly suspendToDisk: boolean;
  /** Console kinds {@link HypervisorDriver.openConsole} serves. */
  readonly consoles: readonly ('vnc' | 'serial' | 'console')[];
  /**
   * Prefix of Proxmox task types of this guest type (`qm` → `qmstart`, `vz` → `vzcreate`).
   * Default: `qm` for qemu, `vz` for lxc, the type itself for another type.
   */
  readonly taskPrefix?: string;
  /** The config file dialect. Default: `lxc` for lxc, `qemu` for every other type. */
  readonly configDialect?: GuestConfigDialect;
  /**
   * Where a `netN` value holds the NIC's MAC, for core's MAC filling (create, update) and
   * fresh MACs (clone): `qemu` (`<model>=<MAC>`, qemu-server's net format) or `lxc`
   * (`hwaddr=<MAC>`). Default: the type's own for qemu and lxc; for another type core leaves
   * `netN` values alone (`false`).
   */
  readonly nicMacFormat?: GuestConfigDialect | false;
  /** The config key holding the guest's name (`name` for VMs, `hostname` for containers). Default: `hostname` for lxc, else `name`. */
  readonly nameKey?: string;
  /** The state a suspended guest is in (`paused` for VMs, `frozen` for containers). Default: `frozen` for lxc, else `paused`. */
  readonly suspendedState?: GuestState;
}

/**
 * A hypervisor driver. Every method runs under the guest lock held by the facade.
 *
 * Errors: `InvalidConfigError` (naming the key) for configs it cannot run, `InvalidStateError`
 * for wrong runtime state, `CommandFailedError`/`ProtocolError` from the tools underneath.
 */
export interface HypervisorDriver {
  readonly info: HypervisorInfo;

  /** Checks every key and their combination; throws `InvalidConfigError` naming the key. No side effects. */
  validate(entries: GuestConfigEntries): void;
  /** Volumes referenced by a config (disks, cdroms, rootfs, mount points, vmstate). */
  volumes(entries: GuestConfigEntries): GuestVolumeRef[];
  /** New volumes a config asks for (`storeid:SIZE`). */
  volumeRequests(entries: GuestConfigEntries): GuestVolumeRequest[];
  /** Returns the config value of `key` with its volume replaced by `volid` (other properties kept). */
  replaceVolume(key: string, value: string, volid: string, sizeBytes?: number): string;
  /**
   * The root-equivalent uses among `keys` of `entries`: raw hypervisor arguments, host paths
   * and devices as disks or mount points, passthrough, hook scripts... The facade refuses
   * them, with `PermissionError`, unless the caller is privileged: for `create` over every key
   * (create parameters included) with `options.create` (so a default that is root-equivalent,
   * such as a privileged container, counts too), for `update` over the set and deleted keys,
   * in their old and their new values. Keys absent from `entries` are skipped. Must not throw
   * for a value it cannot parse: report such a value as privileged. Pure, no I/O.
   *
   * Optional since plugin API 2 (added there; drivers written for API 1 do not have it). A
   * driver without it is unknown, and unknown is privileged: every key among `keys` present in
   * `entries` counts as a root-equivalent use (see {@link guestPrivilegedUses}), so only a
   * privileged caller can create or change its guests.
   */
  privilegedUses?(entries: GuestConfigEntries, keys: readonly string[], options?: { create?: boolean }): PrivilegedUse[];

  /**
   * Create-time parameters that are not config keys (pve-container's `pct create` parameters
   * `ostemplate`, `password`, `ssh-public-keys`). The facade's `create` takes these keys out of
   * the given config before validating it and passes them to {@link populateVolumes}; they are
   * never written to the config.
   */
  readonly createParameters?: readonly string[];
  /**
   * Fills the volumes of a new guest (a container template extracted into the new rootfs, the
   * root password, SSH keys). Called by the facade's `create` under the guest lock, after every
   * `storeid:SIZE` volume is allocated (`entries` hold the final volids) and before the final
   * config is written; a throw makes `create` free the volumes and delete the config. Checks
   * `parameters` first (`InvalidConfigError` naming the parameter).
   *
   * @returns Config keys to add to or change in the new config (e.g. a detected `ostype`, a
   *   default), or nothing.
   */
  populateVolumes?(
    ctx: GuestContext,
    entries: GuestConfigEntries,
    options: { parameters: Readonly<Record<string, string>> },
  ): Promise<GuestConfigEntries | void>;

  /** Starts the guest; resolves once it runs. The guest outlives the calling process. */
  start(ctx: GuestContext, entries: GuestConfigEntries, options: { timeoutMs?: number; stateVolid?: string }): Promise<void>;
  /** Hard stop (kill after `timeoutMs`). Idempotent for an already stopped guest is NOT assumed: the facade checks state. */
  stop(ctx: GuestContext, entries: GuestConfigEntries, options: { timeoutMs?: number }): Promise<void>;
  /** Clean shutdown (ACPI / agent / init signal); throws `TimeoutError` when still running after `timeoutMs`. */
  shutdown(ctx: GuestContext, entries: GuestConfigEntries, options: { timeoutMs: number }): Promise<void>;
  /** Reboot from inside (clean). */
  reboot(ctx: GuestContext, entries: GuestConfigEntries, options: { timeoutMs: number }): Promise<void>;
  /** Hard reset, as the reset button (optional: VMs). */
  reset?(ctx: GuestContext, entries: GuestConfigEntries): Promise<void>;
  /** Pause (QEMU) or freeze (LXC). */
  suspend(ctx: GuestContext, entries: GuestConfigEntries): Promise<void>;
  resume(ctx: GuestContext, entries: GuestConfigEntries): Promise<void>;
  /** Runtime status; `stopped` when nothing runs (never throws for that). */
  status(ctx: GuestContext, entries: GuestConfigEntries): Promise<GuestRuntimeStatus>;

  /**
   * Takes a snapshot of every snapshottable volume (and, when `withState`, the RAM state into
   * a new volume whose volid is returned). Undo steps go to `revert`.
   */
  snapshotCreate(
    ctx: GuestContext,
    entries: GuestConfigEntries,
    options: {
      name: string;
      withState: boolean;
      running: boolean;
      revert: Reverter;
      /**
       * Records the RAM state volume in the snapshot's `snapstate: prepare` section as soon as
       * it is allocated (before anything is written to it), so an interrupted snapshot can be
       * cleaned up. Drivers that allocate a state volume call it once.
       */
      recordState?: (volid: string) => Promise<void>;
    },
  ): Promise<{ vmstate?: string }>;
  /** Restores every volume of the snapshot config `snapshotEntries` to snapshot `name`. Guest is stopped. */
  snapshotRollback(ctx: GuestContext, snapshotEntries: GuestConfigEntries, options: { name: string }): Promise<void>;
  /** Deletes snapshot `name` of every volume (and frees its vmstate). */
  snapshotDelete(ctx: GuestContext, snapshotEntries: GuestConfigEntries, options: { name: string; running: boolean }): Promise<void>;

  /**
   * Applies config changes to a running guest where it can (hotplug, live limits). Keys it
   * cannot change live are returned as `pending`.
   */
  applyChanges(
    ctx: GuestContext,
    before: GuestConfigEntries,
    after: GuestConfigEntries,
    changed: readonly string[],
  ): Promise<ApplyChangesResult>;

  /**
   * Brings a guest back to a usable state after an operation that held the persistent lock
   * `lock` was interrupted (its process died): e.g. for `snapshot`, cancels a RAM-state job
   * still attached, detaches its nodes, thaws frozen file systems and resumes a guest the
   * snapshot paused. Called by the facade's `unlock` before it clears the lock; idempotent;
   * a stopped guest needs nothing. Problems it cannot fix go to `ctx.log` as warnings.
   */
  recover?(ctx: GuestContext, entries: GuestConfigEntries, options: { lock: string }): Promise<void>;

  /** Opens a console. Throws `NotSupportedError` for a kind not in `info.consoles`. */
  openConsole(ctx: GuestContext, entries: GuestConfigEntries, kind: 'vnc' | 'serial' | 'console'): Promise<ConsoleEndpoint>;

  /** The command line `start` would run (`qm showcmd`). */
  showCommand?(ctx: GuestContext, entries: GuestConfigEntries): Promise<readonly string[]>;
  /** Runs a command inside the guest (container exec / guest-agent exec). */
  exec?(ctx: GuestContext, entries: GuestConfigEntries, argv: readonly string[], options: { timeoutMs?: number; input?: string }): Promise<GuestExecResult>;
}

/** Output of a command run inside a guest. */
export interface GuestExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}
