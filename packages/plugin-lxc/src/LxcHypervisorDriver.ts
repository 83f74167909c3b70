/**
 * The LXC hypervisor driver (guest type `lxc`): Proxmox container configs run as LXC system
 * containers, as pve-container does.
 *
 * Layout: lxcpath `<kernel runDir>/lxc`, container name `<vmid>`, so a guest's run directory
 * is LXC's container directory (see {@link ContainerRunDir}). Each start writes the LXC config
 * there from the Proxmox keys; a stop removes it again. LXC never owns the rootfs: it is a
 * storage volume (or a directory) resolved through `ctx.storage`, and `lxc-destroy` is never
 * called (it would delete a `dir:` rootfs wherever it lies).
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import {
  isUnusedKey,
  checkGuestNics,
  CommandFailedError,
  ProtocolError,
  InvalidConfigError,
  InvalidStateError,
  NotSupportedError,
  TimeoutError,
  parseLxcMountPoint,
  printLxcMountPoint,
  type ApplyChangesResult,
  type ConsoleEndpoint,
  type GuestConfigEntries,
  type GuestContext,
  type GuestExecResult,
  type GuestNic,
  type GuestRuntimeStatus,
  type GuestVolumeRef,
  type GuestVolumeRequest,
  type HypervisorDriver,
  type HypervisorInfo,
  type LxcMountPoint,
  type PrivilegedUse,
  type Reverter,
} from '@corral/core';
import { buildLxcConfig, type ResolvedMount } from './config/buildLxcConfig.js';
import { limitSettings, type CgroupHost } from './config/cgroupLimits.js';
import { containerRootOnHost } from './config/idmap.js';
import { lxcPrivilegedUses } from './config/lxcPrivilegedUses.js';
import { parseContainerConfig, type ContainerConfig } from './config/parseContainerConfig.js';
import { HostCgroups } from './host/HostCgroups.js';
import { childPids, isSameProcess, readProcStat } from './host/procfs.js';
import { checkSubordinateIds, type SubordinateIdFiles } from './host/subordinateIds.js';
import { checkSearchable, giveEmptyVolumeToContainerRoot } from './host/rootfsAccess.js';
import { applyLiveChanges } from './runtime/applyLiveChanges.js';
import { applyNicChanges } from './runtime/applyNicChanges.js';
import { lxcGuestNic } from './runtime/lxcGuestNic.js';
import { nicPlugSocketPath, NicPlugServer } from './runtime/NicPlugServer.js';
import { ContainerRunDir } from './runtime/ContainerRunDir.js';
import { LxcTools } from './runtime/LxcTools.js';
import { openConsoleStream } from './runtime/openConsoleStream.js';
import { findRunningInit, readContainerStatus } from './runtime/readContainerStatus.js';
import { extractTemplate } from './setup/extractTemplate.js';
import { RootfsFiles } from './setup/RootfsFiles.js';
import { containerHostname, detectOstype, setRootPassword, setRootSshKeys, setupContainerFiles } from './setup/setupContainerFiles.js';
import { shiftOwnership } from './setup/shiftOwnership.js';

/** Options of {@link LxcHypervisorDriver}. Defaults fit a normal host; tests may point them elsewhere. */
export interface LxcHypervisorDriverOptions {
  /** The host's cgroups and /proc. */
  readonly cgroups?: HostCgroups;
  /** LXC's shipped configs (`common.conf`, `userns.conf`...). Default `/usr/share/lxc/config`. */
  readonly lxcConfigDir?: string;
  /** `lxc.log.level` of generated configs. Default `WARN`. */
  readonly logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'NOTICE' | 'WARN' | 'ERROR';
  /** `/etc/subuid`, `/etc/subgid` and PATH for the id-map check. */
  readonly subordinateIds?: SubordinateIdFiles;
  /**
   * The Node.js binary LXC runs the NIC plug hook (`runtime/startHostHook.js`) with. Default
   * `process.execPath` (set it when the kernel runs in a process that is not plain Node.js).
   */
  readonly nodeBinary?: string;
  /** Where lxcfs mounts its files; when absent, LXC's lxcfs hooks are switched off. Default `/var/lib/lxcfs`. */
  readonly lxcfsDir?: string;
}

/** Create-time parameters of `pct create` the driver takes (see {@link HypervisorDriver.createParameters}). */
export const LXC_CREATE_PARAMETERS = ['ostemplate', 'password', 'ssh-public-keys', 'ignore-unpack-errors'] as const;

/** The program LXC runs as `lxc.hook.start-host` (compiled next to this file). */
const START_HOST_HOOK = fileURLToPath(new URL('./runtime/startHostHook.js', import.meta.url));

/** The bridged NICs of a container, as core's NIC plugging takes them. */
function containerNics(vmid: number, config: ContainerConfig): GuestNic[] {
  return config.nets.flatMap((n) => lxcGuestNic(vmid, n) ?? []);
}

/** Default start timeout, ms. */
const START_TIMEOUT_MS = 60_000;
/** Default hard-stop timeout, ms. */
const STOP_TIMEOUT_MS = 30_000;
/** How long to wait for LXC's monitor to exit after a stop, ms. */
const MONITOR_EXIT_MS = 3_000;

const SIZE_REQUEST = /^([a-z][a-z0-9_.-]*[a-z0-9]):(\d+(?:\.\d+)?)$/i;
const GIB = 1024 ** 3;

/** Volume keys of a container config, in Proxmox's order. */
function volumeKeys(entries: GuestConfigEntries): string[] {
  const keys = Object.keys(entries).filter((k) => k === 'rootfs' || /^mp\d+$/.test(k) || isUnusedKey(k));
  const rank = (k: string) => (k === 'rootfs' ? -1 : k.startsWith('mp') ? Number(k.slice(2)) : 1000 + Number(k.slice(6)));
  return keys.sort((a, b) => rank(a) - rank(b));
}

/**
 * The `lxc` {@link HypervisorDriver}.
 *
 * Errors: `InvalidConfigError` naming the key for configs it cannot run (checked before
 * anything starts), `InvalidStateError` for wrong runtime state, `TimeoutError` for a shutdown
 * that does not finish, `NotSupportedError` for what it does not do (device
 * passthrough, block-device rootfs), `UnavailableError` for a host that cannot run the
 * config (id map not allowed, rootfs path not searchable by the container's root),
 * `CommandFailedError` (with the tail of LXC's log) when LXC fails.
 */
export class LxcHypervisorDriver implements HypervisorDriver {
  readonly info: HypervisorInfo = Object.freeze({
    type: 'lxc',
    configDir: 'lxc',
    snapshotWithState: false,
    suspendToDisk: false,
    consoles: Object.freeze(['console'] as const),
  });
  readonly createParameters: readonly string[] = LXC_CREATE_PARAMETERS;

  readonly cgroups: HostCgroups;
  readonly #lxcConfigDir: string;
  readonly #logLevel: NonNullable<LxcHypervisorDriverOptions['logLevel']>;
  readonly #subordinateIds: SubordinateIdFiles;
  readonly #nodeBinary: string;
  readonly #lxcfsDir: string;

  constructor(options: LxcHypervisorDriverOptions = {}) {
    this.cgroups = options.cgroups ?? new HostCgroups();
    this.#lxcConfigDir = options.lxcConfigDir ?? '/usr/share/lxc/config';
    this.#logLevel = options.logLevel ?? 'WARN';
    this.#subordinateIds = options.subordinateIds ?? {};
    this.#nodeBinary = options.nodeBinary ?? process.execPath;
    this.#lxcfsDir = options.lxcfsDir ?? '/var/lib/lxcfs';
  }

  // ------------------------------------------------------------------ config

  validate(entries: GuestConfigEntries): void {
    parseContainerConfig(entries);
  }

  volumes(entries: GuestConfigEntries): GuestVolumeRef[] {
    const out: GuestVolumeRef[] = [];
    for (const key of volumeKeys(entries)) {
      const value = entries[key]!;
      let volume: string;
      try {
        volume = key.startsWith('unused') ? value.split(',')[0]!.replace(/^volume=/, '') : parseLxcMountPoint(value, { key }).volume;
      } catch {
        continue;
      }
      if (volume.startsWith('/') || SIZE_REQUEST.test(volume) || !volume.includes(':')) continue;
      out.push({ key, volid: volume, content: 'rootdir', isCdrom: false });
    }
    return out;
  }

  volumeRequests(entries: GuestConfigEntries): GuestVolumeRequest[] {
    const out: GuestVolumeRequest[] = [];
    for (const key of volumeKeys(entries)) {
      if (key.startsWith('unused')) continue;
      const mount = parseLxcMountPoint(entries[key]!, { key });
      const m = SIZE_REQUEST.exec(mount.volume);
      if (m) out.push({ key, storage: m[1]!, sizeBytes: Math.round(Number(m[2]) * GIB), content: 'rootdir' });
    }
    return out;
  }

  privilegedUses(entries: GuestConfigEntries, keys: readonly string[], options: { create?: boolean } = {}): PrivilegedUse[] {
    return lxcPrivilegedUses(entries, keys, options);
  }

  replaceVolume(key: string, value: string, volid: string, sizeBytes?: number): string {
    if (isUnusedKey(key)) return volid;
    const mount = parseLxcMountPoint(value, { key });
    return printLxcMountPoint({ ...mount, volume: volid, ...(sizeBytes === undefined ? {} : { size: sizeBytes }) }, { key });
  }

  // ------------------------------------------------------------------ create

  async populateVolumes(
    ctx: GuestContext,
    entries: GuestConfigEntries,
    options: { parameters: Readonly<Record<string, string>> },
  ): Promise<GuestConfigEntries> {
    const p = options.parameters;
    const password = p.password;
    if (password !== undefined && (password.length < 5 || password.length > 64)) {
      throw new InvalidConfigError('password', '***', "invalid value for 'password': must be 5 to 64 characters long");
    }
    const keys = p['ssh-public-keys'];
    if (keys !== undefined) {
      const bad = keys.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#') && !/^(?:\S+\s+)?(?:ssh-|ecdsa-|sk-)\S+\s+[A-Za-z0-9+/=]+/.test(l.trim()));
      if (bad !== undefined) throw new InvalidConfigError('ssh-public-keys', keys, `invalid value for 'ssh-public-keys': '${bad.slice(0, 40)}' is not an SSH public key`);
    }
    const config = parseContainerConfig(entries);
    let archive: string | undefined;
    if (p.ostemplate !== undefined) archive = await this.#templatePath(ctx, p.ostemplate);
    const rootfsPath = await this.#resolveDirectory(ctx, 'rootfs', config.rootfs);
    if (archive) {
      ctx.log.info(`extracting ${p.ostemplate} into ${config.rootfs.volume}`);
      await extractTemplate(ctx.runner, { archive, target: rootfsPath, ignoreErrors: /^(1|yes|true|on)$/i.test(p['ignore-unpack-errors'] ?? ''), signal: ctx.signal });
    }
    if (config.idmap.length > 0) {
      const r = await shiftOwnership(rootfsPath, config.idmap);
      ctx.log.info(`shifted ${r.changed} owners into the container's id range${r.unmapped ? ` (${r.unmapped} ids outside the map became nobody)` : ''}`);
    }
    const files = new RootfsFiles(rootfsPath, containerRootOnHost(config.idmap));
    if (password !== undefined) await setRootPassword(files, password);
    if (keys !== undefined) await setRootSshKeys(files, keys);
    const added: Record<string, string> = {};
    if (config.values.ostype === undefined) {
      const ostype = await detectOstype(files);
      if (ostype) added.ostype = ostype;
    }
    return added;
  }

  // ------------------------------------------------------------------ lifecycle

  async start(ctx: GuestContext, entries: GuestConfigEntries, options: { timeoutMs?: number; stateVolid?: string }): Promise<void> {
    const dir = new ContainerRunDir(ctx.runDir);
    const tools = new LxcTools(ctx.runner, dir, ctx.signal);
    // A stop removes the run directory; a start right after it on the same context (rollback with start) needs it again.
    await mkdir(ctx.runDir, { recursive: true });
    const text = await this.prepareStart(ctx, entries);
    await dir.writeConfig(text);
    const nics = containerNics(ctx.vmid, parseContainerConfig(entries));
    // LXC's start-host hook asks this server to plug the veths before the container's init runs.
    let server: NicPlugServer | undefined;
    if (nics.length > 0) {
      await dir.writeNics({ nics, plugged: nics });
      server = await NicPlugServer.listen(nicPlugSocketPath(ctx.runDir), async () => {
        const plugged = [];
        for (const nic of nics) plugged.push({ ...nic, bridge: (await ctx.network.plug(nic)).bridge });
        await dir.writeNics({ nics, plugged });
        ctx.log.info(`plugged ${nics.map((n) => `${n.key} (${n.ifname})`).join(', ')}`);
      });
    }
    try {
      await tools.start({ timeoutMs: options.timeoutMs ?? START_TIMEOUT_MS });
      if (server && server.served === 0) throw new ProtocolError('lxc', `container ${ctx.vmid} started but its start-host hook never asked to plug its NICs`);
    } catch (err) {
      const tail = await dir.logTail();
      await this.#unplugNics(ctx, dir);
      await dir.clear({ keepLogs: true });
      if (server?.error) throw server.error;
      if (err instanceof CommandFailedError) {
        throw new CommandFailedError(err.argv, err.exitCode, `${err.stderr.trim()}${tail ? `\n--- ${dir.logFile} ---\n${tail}` : ''}`, err.signal, { cause: err });
      }
      throw err;
    } finally {
      await server?.close();
    }
    await this.#recordInit(dir, tools);
  }

  /** Unplugs the NICs the last start recorded (their firewall ports, the hooks' state); problems are warnings. */
  async #unplugNics(ctx: GuestContext, dir: ContainerRunDir): Promise<void> {
    for (const nic of (await dir.readNics())?.nics ?? []) {
      await ctx.network.unplug(nic).catch((e: Error) => ctx.log.warn(`${nic.key}: unplugging ${nic.ifname}: ${e.message}`));
    }
  }

  /**
   * Everything a start does before `lxc-start`: checks the config against the host, resolves
   * the volumes, writes hostname/network files into the rootfs, and returns the LXC config
   * text (public so that tools can show the LXC config a start would use). Clears what an earlier
   * run left in the run directory and writes into the rootfs: call it on a stopped container only.
   */
  async prepareStart(ctx: GuestContext, entries: GuestConfigEntries): Promise<string> {
    const config = parseContainerConfig(entries);
    const dir = new ContainerRunDir(ctx.runDir);
    this.#checkUnsupported(config, entries);
    const nics = containerNics(ctx.vmid, config);
    await checkGuestNics(ctx.network, nics, entries);
    checkSubordinateIds(config.idmap, this.#subordinateIds);
    await dir.clear();
    const rootfsPath = await this.#resolveDirectory(ctx, 'rootfs', config.rootfs);
    const owner = containerRootOnHost(config.idmap);
    if (config.idmap.length > 0) await checkSearchable(rootfsPath, owner);
    const mounts: ResolvedMount[] = [];
    for (const { key, mount } of config.mountPoints) {
      const source = mount.type === 'bind' ? await this.#checkBindSource(key, entries[key]!, mount.volume) : await this.#resolveDirectory(ctx, key, mount);
      if (mount.type === 'volume' && config.idmap.length > 0) await giveEmptyVolumeToContainerRoot(source, owner);
      mounts.push({ key, source, target: mount.mp, readOnly: !!mount.ro });
    }
    const files = new RootfsFiles(rootfsPath, owner);
    await setupContainerFiles(files, config, ctx.vmid);
    const extra: string[] = [];
    if (!existsSync(join(this.#lxcfsDir, 'proc'))) {
      // lxcfs is not running: its hooks (from common.conf) would only cost time (the post-stop one sleeps 0.5 s).
      extra.push('lxc.hook.mount =', 'lxc.hook.post-stop =');
    }
    if (!config.values.entrypoint && basename(await files.resolve('/sbin/init')) === 'busybox') {
      // busybox init halts on SIGUSR1 and reboots on SIGTERM (LXC's defaults are SIGPWR and SIGINT).
      extra.push('lxc.signal.halt = SIGUSR1', 'lxc.signal.reboot = SIGTERM');
    }
    return buildLxcConfig({
      vmid: ctx.vmid,
      config,
      hostname: containerHostname(config, ctx.vmid),
      rootfsPath,
      mounts,
      cgroupVersion: this.cgroups.version,
      limits: limitSettings(config, this.#cgroupHost()),
      includes: this.#includes(config),
      extra,
      logFile: dir.logFile,
      logLevel: this.#logLevel,
      consoleLogFile: dir.consoleLogFile,
      startHostHook: nics.length > 0 ? [this.#nodeBinary, START_HOST_HOOK, nicPlugSocketPath(ctx.runDir), dir.nicsFile] : undefined,
    });
  }

  async stop(ctx: GuestContext, _entries: GuestConfigEntries, options: { timeoutMs?: number }): Promise<void> {
    const dir = new ContainerRunDir(ctx.runDir);
    const tools = new LxcTools(ctx.runner, dir, ctx.signal);
    const monitorPid = await dir.readMonitorPid();
    const code = await tools.stop({ kill: true, timeoutMs: options.timeoutMs ?? STOP_TIMEOUT_MS });
    if (code === 1 && (await findRunningInit(dir, tools))) {
      throw new InvalidStateError('running', `container ${ctx.vmid} did not stop (lxc-stop -k failed): ${await dir.logTail(5)}`);
    }
    await this.#unplugNics(ctx, dir);
    await this.#afterStop(dir, monitorPid);
  }

  async shutdown(ctx: GuestContext, _entries: GuestConfigEntries, options: { timeoutMs: number }): Promise<void> {
    const dir = new ContainerRunDir(ctx.runDir);
    const tools = new LxcTools(ctx.runner, dir, ctx.signal);
    await this.#thawIfFrozen(dir, tools);
    const monitorPid = await dir.readMonitorPid();
    const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
    const code = await tools.stop({ noKill: true, timeoutSec: seconds, timeoutMs: options.timeoutMs + 30_000 });
    if (code === 1 && (await findRunningInit(dir, tools))) throw new TimeoutError(`container ${ctx.vmid} to shut down`, options.timeoutMs);
    await this.#unplugNics(ctx, dir);
    await this.#afterStop(dir, monitorPid);
  }

  async reboot(ctx: GuestContext, _entries: GuestConfigEntries, options: { timeoutMs: number }): Promise<void> {
    const dir = new ContainerRunDir(ctx.runDir);
    const tools = new LxcTools(ctx.runner, dir, ctx.signal);
    const before = await findRunningInit(dir, tools);
    const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
    const code = await tools.stop({ reboot: true, timeoutSec: seconds, timeoutMs: options.timeoutMs + 30_000 });
    if (code !== 0) throw new TimeoutError(`container ${ctx.vmid} to reboot`, options.timeoutMs);
    // Wait for the new init (a new pid under the same monitor).
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const monitorPid = await dir.readMonitorPid();
      const kids = monitorPid === undefined ? [] : await childPids(monitorPid);
      const init = kids[0];
      if (init !== undefined && init !== before?.initPid) {
        const stat = await readProcStat(init);
        if (stat) {
          await dir.writeState({ initPid: init, initStartTicks: stat.startTicks, monitorPid, startedAt: Date.now() });
          return;
        }
      }
      if (Date.now() > deadline) throw new TimeoutError(`container ${ctx.vmid} to come back after reboot`, options.timeoutMs);
      await sleep(20);
    }
  }

  async suspend(ctx: GuestContext): Promise<void> {
    await new LxcTools(ctx.runner, new ContainerRunDir(ctx.runDir), ctx.signal).freeze();
  }

  async resume(ctx: GuestContext): Promise<void> {
    await new LxcTools(ctx.runner, new ContainerRunDir(ctx.runDir), ctx.signal).unfreeze();
  }

  async status(ctx: GuestContext): Promise<GuestRuntimeStatus> {
    const dir = new ContainerRunDir(ctx.runDir);
    return readContainerStatus(dir, new LxcTools(ctx.runner, dir, ctx.signal), this.cgroups);
  }

  // ------------------------------------------------------------------ snapshots

  async snapshotCreate(
    ctx: GuestContext,
    entries: GuestConfigEntries,
    options: { name: string; withState: boolean; running: boolean; revert: Reverter },
  ): Promise<{ vmstate?: string }> {
    if (options.withState) throw new NotSupportedError('snapshot with state', 'containers cannot keep RAM state in a snapshot');
    const vols = this.#snapshotVolumes(entries);
    const tools = new LxcTools(ctx.runner, new ContainerRunDir(ctx.runDir), ctx.signal);
    let frozen = false;
    if (options.running) {
      // As pve-container: freeze, flush, snapshot every volume, thaw.
      await tools.freeze();
      frozen = true;
      await ctx.runner.run(['sync'], { signal: ctx.signal, timeoutMs: 120_000 });
    }
    try {
      for (const v of vols) {
        await ctx.storage.snapshotCreate(v.volid, options.name);
        options.revert.add(() => ctx.storage.snapshotDelete(v.volid, options.name), `delete snapshot ${options.name} of ${v.volid}`);
        ctx.log.info(`${v.key}: snapshot ${options.name} of ${v.volid}`);
      }
    } finally {
      if (frozen) await tools.unfreeze();
    }
    return {};
  }

  async snapshotRollback(ctx: GuestContext, snapshotEntries: GuestConfigEntries, options: { name: string }): Promise<void> {
    for (const v of this.#snapshotVolumes(snapshotEntries)) await ctx.storage.snapshotRollback(v.volid, options.name);
  }

  async snapshotDelete(ctx: GuestContext, snapshotEntries: GuestConfigEntries, options: { name: string; running: boolean }): Promise<void> {
    for (const v of this.#snapshotVolumes(snapshotEntries)) {
      try {
        await ctx.storage.snapshotDelete(v.volid, options.name);
      } catch (err) {
        if ((err as { code?: string }).code !== 'CORRAL_ERR_NOT_FOUND') throw err;
      }
    }
  }

  // ------------------------------------------------------------------ live changes, console, exec

  async applyChanges(ctx: GuestContext, before: GuestConfigEntries, after: GuestConfigEntries, changed: readonly string[]): Promise<ApplyChangesResult> {
    const dir = new ContainerRunDir(ctx.runDir);
    const init = await findRunningInit(dir, new LxcTools(ctx.runner, dir, ctx.signal), this.cgroups.proc);
    const cg = init ? await this.cgroups.containerCgroup(init.initPid) : undefined;
    if (!cg) return { applied: [], pending: [...changed] };
    const afterConfig = parseContainerConfig(after);
    const netKeys = changed.filter((k) => /^net\d+$/.test(k));
    const nets = await applyNicChanges(ctx, dir, parseContainerConfig(before), afterConfig, netKeys);
    const rest = await applyLiveChanges(cg, afterConfig, after, changed.filter((k) => !netKeys.includes(k)), this.#cgroupHost());
    return { applied: [...nets.applied, ...rest.applied], pending: [...nets.pending, ...rest.pending] };
  }

  async openConsole(ctx: GuestContext, _entries: GuestConfigEntries, kind: 'vnc' | 'serial' | 'console'): Promise<ConsoleEndpoint> {
    if (kind !== 'console') throw new NotSupportedError(`console:${kind}`, `containers have a text console only (kind 'console'), not '${kind}'`);
    const tools = new LxcTools(ctx.runner, new ContainerRunDir(ctx.runDir));
    const stream: Duplex = openConsoleStream(ctx.runner, tools.consoleArgv());
    return { kind: 'stream', protocol: 'serial', stream };
  }

  async showCommand(ctx: GuestContext): Promise<readonly string[]> {
    return new LxcTools(ctx.runner, new ContainerRunDir(ctx.runDir)).startArgv();
  }

  async exec(ctx: GuestContext, _entries: GuestConfigEntries, argv: readonly string[], options: { timeoutMs?: number; input?: string }): Promise<GuestExecResult> {
    const r = await new LxcTools(ctx.runner, new ContainerRunDir(ctx.runDir), ctx.signal).attach(argv, options);
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  // ------------------------------------------------------------------ internals

  #cgroupHost(): CgroupHost {
    return {
      version: this.cgroups.version,
      swapAccounting: this.cgroups.version === 1 && this.cgroups.hasRootFile('memory.memsw.limit_in_bytes'),
      cpus: this.cgroups.cpus,
    };
  }

  /** LXC's distribution configs to include, as pve-container picks them. */
  #includes(config: ContainerConfig): string[] {
    const pick = (kind: 'common' | 'userns'): string | undefined => {
      const ostype = config.values.ostype;
      const specific = ostype && ostype !== 'unmanaged' ? join(this.#lxcConfigDir, `${ostype}.${kind}.conf`) : undefined;
      if (specific && existsSync(specific)) return specific;
      const generic = join(this.#lxcConfigDir, `${kind}.conf`);
      return existsSync(generic) ? generic : undefined;
    };
    const out: string[] = [];
    const common = pick('common');
    if (common) out.push(common);
    if (config.idmap.length > 0) {
      const userns = pick('userns');
      if (userns) out.push(userns);
    }
    if (config.values.features?.nesting && existsSync(join(this.#lxcConfigDir, 'nesting.conf'))) out.push(join(this.#lxcConfigDir, 'nesting.conf'));
    return out;
  }

  /** Throws `NotSupportedError` for config parts the driver does not run yet. */
  #checkUnsupported(config: ContainerConfig, entries: GuestConfigEntries): void {
    const dev = Object.keys(entries).find((k) => /^dev\d+$/.test(k));
    if (dev) throw new NotSupportedError('device passthrough', `'${dev}': device passthrough is not supported by the LXC driver yet`);
    for (const { key, mount } of config.mountPoints) {
      if (mount.type === 'device') throw new NotSupportedError('device mount point', `'${key}': block device mount points are not supported by the LXC driver yet`);
    }
  }

  /** Host directory of a storage-backed rootfs or mount point. */
  async #resolveDirectory(ctx: GuestContext, key: string, mount: LxcMountPoint): Promise<string> {
    if (mount.type === 'bind') return mount.volume;
    if (mount.type !== 'volume') throw new NotSupportedError('device mount point', `'${key}': ${mount.volume} is a device`);
    if (SIZE_REQUEST.test(mount.volume)) throw new InvalidConfigError(key, mount.volume, `'${key}': volume ${mount.volume} is not allocated yet`);
    const access = await ctx.storage.resolve(mount.volume, { consumer: 'container' });
    if (access.kind !== 'directory') {
      throw new NotSupportedError('container volume', `'${key}': ${mount.volume} resolves to a ${access.kind}; the LXC driver needs a directory (subvol) volume`);
    }
    return access.path;
  }

  async #checkBindSource(key: string, value: string, path: string): Promise<string> {
    try {
      if ((await stat(path)).isDirectory()) return path;
    } catch {
      // below
    }
    throw new InvalidConfigError(key, value, `invalid value for '${key}': bind mount source '${path}' is not a directory on this node`);
  }

  /** Host path of an `ostemplate` (a vztmpl volume or an absolute path). */
  async #templatePath(ctx: GuestContext, ostemplate: string): Promise<string> {
    let path: string;
    if (ostemplate.startsWith('/')) {
      path = ostemplate;
    } else {
      if (!/^[a-z][a-z0-9_.-]*[a-z0-9]:vztmpl\/[^/]+$/i.test(ostemplate)) {
        throw new InvalidConfigError('ostemplate', ostemplate, `invalid value for 'ostemplate': '${ostemplate}' is not a template volume ('storage:vztmpl/name.tar.gz') or an absolute path`);
      }
      let access;
      try {
        access = await ctx.storage.resolve(ostemplate, { consumer: 'host' });
      } catch (err) {
        throw new InvalidConfigError('ostemplate', ostemplate, `invalid value for 'ostemplate': ${(err as Error).message}`, { cause: err });
      }
      if (access.kind !== 'file') throw new InvalidConfigError('ostemplate', ostemplate, `invalid value for 'ostemplate': '${ostemplate}' is not a file`);
      path = access.path;
    }
    try {
      if ((await stat(path)).isFile()) return path;
    } catch {
      // below
    }
    throw new InvalidConfigError('ostemplate', ostemplate, `invalid value for 'ostemplate': template '${path}' does not exist`);
  }

  #snapshotVolumes(entries: GuestConfigEntries): GuestVolumeRef[] {
    return this.volumes(entries).filter((v) => !v.key.startsWith('unused'));
  }

  async #recordInit(dir: ContainerRunDir, tools: LxcTools): Promise<void> {
    const monitorPid = await dir.readMonitorPid();
    let initPid = monitorPid === undefined ? undefined : (await childPids(monitorPid))[0];
    if (initPid === undefined) initPid = (await tools.info()).pid;
    if (initPid === undefined) throw new InvalidStateError('stopped', `container ${dir.name} stopped right after it started: ${await dir.logTail(10)}`);
    const stat = await readProcStat(initPid);
    if (!stat) throw new InvalidStateError('stopped', `container ${dir.name} stopped right after it started: ${await dir.logTail(10)}`);
    await dir.writeState({ initPid, initStartTicks: stat.startTicks, monitorPid, startedAt: Date.now() });
  }

  async #thawIfFrozen(dir: ContainerRunDir, tools: LxcTools): Promise<void> {
    const init = await findRunningInit(dir, tools, this.cgroups.proc);
    if (!init) return;
    const cg = await this.cgroups.containerCgroup(init.initPid);
    const state = cg?.version === 1 ? await cg.read('freezer.state') : (await cg?.read('cgroup.freeze')) === '1' ? 'FROZEN' : 'THAWED';
    if (state === 'FROZEN' || state === 'FREEZING') await tools.unfreeze();
  }

  /** After the container stopped: wait for LXC's monitor to finish, remove the generated files. */
  async #afterStop(dir: ContainerRunDir, monitorPid: number | undefined): Promise<void> {
    if (monitorPid !== undefined) {
      const stat = await readProcStat(monitorPid);
      if (stat) {
        const deadline = Date.now() + MONITOR_EXIT_MS;
        while (Date.now() < deadline && (await isSameProcess(monitorPid, stat.startTicks))) await sleep(10);
      }
    }
    await dir.clear();
    await rmdir(dir.dir).catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
