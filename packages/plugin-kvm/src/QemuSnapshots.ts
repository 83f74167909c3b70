/**
 * VM snapshots: disks, and optionally the RAM state.
 *
 * How each disk is snapshotted:
 * - VM stopped: through storage (`snapshotCreate`: `qemu-img snapshot` for qcow2 on dir, a
 *   ZFS/RBD snapshot...).
 * - VM running, qcow2 disk: inside QEMU, which holds the image open and locked: one QMP
 *   `transaction` of `blockdev-snapshot-internal-sync` (atomic across disks), or the
 *   `snapshot-save` job when RAM state is kept. The result is an ordinary qcow2 internal
 *   snapshot, which storage rolls back and deletes later like its own.
 * - VM running, other formats (raw on ZFS, RBD...): through storage while the guest's file
 *   systems are frozen by the guest agent (`agent: 1`) or the VM is paused (with RAM state).
 *
 * RAM state (`withState`) goes into a volume of its own, a qcow2 allocated for the snapshot on
 * `vmstatestorage` (default: the first disk's storage) and returned as `vmstate`, which the
 * facade records in the snapshot section. QEMU writes it with the `snapshot-save` job
 * (vmstate node = that volume, listed in `devices` with the running qcow2 disks), so the state
 * lives in the volume as an internal snapshot named like the Corral snapshot. Rollback: the
 * facade stops the VM, {@link rollbackSnapshot} rolls every disk back through storage, and the
 * facade starts the VM with `stateVolid`; start then runs {@link loadVmState}: QEMU starts
 * paused, the state volume is added as a block node, `snapshot-load` reads the RAM state
 * from it (listing only that node, since the disks were rolled back already), the node is
 * removed and the VM continues. Delete frees the state volume.
 *
 * @packageDocumentation
 */
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidConfigError, NotSupportedError, type GuestContext, type Reverter, type VolumeAccess } from '@corral/core';
import { blockNodeNames, qemuBlockGraph } from './cmdline/QemuBlockdev.js';
import type { QemuConfig } from './config/QemuConfig.js';
import { QgaClient } from './qmp/QgaClient.js';
import type { QmpClient } from './qmp/QmpClient.js';
import type { QemuRunPaths } from './runtime/QemuRunPaths.js';
import { withQmp } from './runtime/withQmp.js';

/** Node name of the RAM state volume while it is attached. */
const VMSTATE_KEY = 'vmstate';
/** How long a `snapshot-save`/`snapshot-load` job may take, ms. */
const STATE_JOB_TIMEOUT_MS = 10 * 60_000;
/**
 * Marker file in the run directory while a RAM snapshot holds a running VM paused: if the
 * snapshotting process dies, {@link recoverInterruptedSnapshot} knows to resume the VM.
 */
const PAUSED_MARKER = 'snapshot-paused';
/** Prefix of the job ids of RAM-state jobs (`snapshot-save-<name>`, `snapshot-load-<name>`). */
const STATE_JOB_PREFIX = 'snapshot-';

/** A disk of the config that snapshots apply to. */
interface SnapshotDisk {
  readonly key: string;
  readonly volid: string;
}

/** Disks (volumes, not CD-ROMs, not host paths) whose snapshots follow the VM's, and `efidisk0`. */
export function snapshotDisks(config: QemuConfig): SnapshotDisk[] {
  const out: SnapshotDisk[] = [];
  for (const d of config.drives) if (!d.cdrom && d.source.kind === 'volume') out.push({ key: d.key, volid: d.source.volid });
  if (config.efidisk?.source.kind === 'volume') out.push({ key: 'efidisk0', volid: config.efidisk.source.volid });
  return out;
}

/** Options of {@link createSnapshot}. */
export interface CreateSnapshotOptions {
  readonly name: string;
  readonly withState: boolean;
  readonly running: boolean;
  readonly revert: Reverter;
  /** Records the RAM state volume in the snapshot's prepare section as soon as it exists. */
  readonly recordState?: (volid: string) => Promise<void>;
}

/**
 * Takes snapshot `name` of every disk (see the module comment) and, with `withState` on a
 * running VM, saves the RAM state into a new volume whose volid is returned. Every step
 * registers its undo in `revert`.
 *
 * @throws InvalidConfigError (`vmstatestorage`) when no storage for the state is known;
 *   NotSupportedError when that storage cannot hold a qcow2 state volume; ProtocolError
 *   from QEMU.
 */
export async function createSnapshot(ctx: GuestContext, config: QemuConfig, paths: QemuRunPaths, options: CreateSnapshotOptions): Promise<{ vmstate?: string }> {
  const { name, revert } = options;
  const disks = snapshotDisks(config);
  if (!options.running) {
    for (const d of disks) {
      await ctx.storage.snapshotCreate(d.volid, name);
      revert.add(() => ctx.storage.snapshotDelete(d.volid, name), `delete snapshot ${name} of ${d.volid}`);
      ctx.log.info(`${d.key}: snapshot '${name}' of ${d.volid}`);
    }
    return {};
  }
  return withQmp(paths.qmp, async (qmp) => {
    const inQemu: Array<SnapshotDisk & { node: string }> = [];
    const inStorage: SnapshotDisk[] = [];
    for (const d of disks) {
      const access = await ctx.storage.resolve(d.volid, { consumer: 'qemu' });
      const node = await attachedNode(qmp, d.key);
      if (formatOf(access) === 'qcow2' && node) inQemu.push({ ...d, node });
      else inStorage.push(d);
    }
    const undoInQemu = (): void => {
      for (const d of inQemu) {
        // Undos run after this connection is closed (the facade fails later): connect again.
        revert.add(
          () => withQmp(paths.qmp, (q) => q.execute('blockdev-snapshot-delete-internal-sync', { device: d.node, name })),
          `delete snapshot ${name} of ${d.volid}`,
        );
      }
    };
    if (options.withState) {
      const vmstate = await allocateStateVolume(ctx, config, disks);
      revert.add(() => ctx.storage.free(vmstate), `free ${vmstate}`);
      await options.recordState?.(vmstate);
      const graph = qemuBlockGraph(VMSTATE_KEY, { cache: 'writeback' }, await ctx.storage.resolve(vmstate, { consumer: 'qemu' }), { throttle: false });
      await qmp.execute('blockdev-add', graph.blockdev);
      const status = await qmp.execute('query-status');
      const marker = join(paths.dir, PAUSED_MARKER);
      try {
        if (status.running) {
          await writeFile(marker, `${name}\n`);
          await qmp.execute('stop');
        }
        for (const d of inStorage) {
          await ctx.storage.snapshotCreate(d.volid, name);
          revert.add(() => ctx.storage.snapshotDelete(d.volid, name), `delete snapshot ${name} of ${d.volid}`);
        }
        await qmp.runJob(
          'snapshot-save',
          { 'job-id': `snapshot-save-${name}`, tag: name, vmstate: graph.formatNode, devices: [...inQemu.map((d) => d.node), graph.formatNode] },
          { timeoutMs: STATE_JOB_TIMEOUT_MS, signal: ctx.signal },
        );
        undoInQemu();
      } finally {
        await qmp.execute('blockdev-del', { 'node-name': graph.top }).catch(() => undefined);
        await ctx.storage.deactivateVolume(vmstate).catch(() => undefined);
        if (status.running) {
          await qmp.execute('cont');
          await rm(marker, { force: true });
        }
      }
      ctx.log.info(`snapshot '${name}' with RAM state in ${vmstate}: ${inQemu.length} disk(s) in QEMU, ${inStorage.length} through storage`);
      return { vmstate };
    }
    const thaw = config.agent.enabled ? await freezeGuest(ctx, paths) : undefined;
    try {
      if (inQemu.length > 0) {
        await qmp.execute('transaction', {
          actions: inQemu.map((d) => ({ type: 'blockdev-snapshot-internal-sync', data: { device: d.node, name } })),
        });
        undoInQemu();
      }
      for (const d of inStorage) {
        await ctx.storage.snapshotCreate(d.volid, name);
        revert.add(() => ctx.storage.snapshotDelete(d.volid, name), `delete snapshot ${name} of ${d.volid}`);
      }
    } finally {
      await thaw?.();
    }
    ctx.log.info(`snapshot '${name}': ${inQemu.length} disk(s) in QEMU, ${inStorage.length} through storage`);
    return {};
  });
}

/** Rolls every disk of the snapshot config back to `name` through storage. The VM is stopped. */
export async function rollbackSnapshot(ctx: GuestContext, config: QemuConfig, name: string): Promise<void> {
  for (const d of snapshotDisks(config)) {
    await ctx.storage.snapshotRollback(d.volid, name);
    ctx.log.info(`${d.key}: rolled ${d.volid} back to '${name}'`);
  }
}

/**
 * Deletes snapshot `name` of every disk of the snapshot config (inside QEMU for qcow2 disks
 * the running VM holds, through storage otherwise) and frees its RAM state volume.
 */
export async function deleteSnapshot(ctx: GuestContext, config: QemuConfig, paths: QemuRunPaths, options: { name: string; running: boolean }): Promise<void> {
  const { name } = options;
  const disks = snapshotDisks(config);
  const viaStorage = async (d: SnapshotDisk): Promise<void> => {
    try {
      await ctx.storage.snapshotDelete(d.volid, name);
    } catch (err) {
      if ((err as { code?: string }).code !== 'CORRAL_ERR_NOT_FOUND') throw err;
      ctx.log.warn(`${d.key}: ${d.volid} has no snapshot '${name}' any more`);
    }
  };
  if (options.running) {
    await withQmp(paths.qmp, async (qmp) => {
      const nodes = (await qmp.execute<NamedBlockNode[]>('query-named-block-nodes', { flat: true })) ?? [];
      for (const d of disks) {
        const access = await ctx.storage.resolve(d.volid, { consumer: 'qemu' });
        const node = await attachedNode(qmp, d.key);
        const format = nodes.find((n) => n['node-name'] === blockNodeNames(d.key).formatNode);
        const held = node && format && formatOf(access) === 'qcow2' && sameImage(format, access);
        if (held && format.image?.snapshots?.some((s) => s.name === name)) {
          await qmp.execute('blockdev-snapshot-delete-internal-sync', { device: node, name });
        } else if (!held) {
          await viaStorage(d);
        }
      }
    });
  } else {
    for (const d of disks) await viaStorage(d);
  }
  if (config.vmstate) {
    try {
      await ctx.storage.free(config.vmstate);
    } catch (err) {
      if ((err as { code?: string }).code !== 'CORRAL_ERR_NOT_FOUND') throw err;
    }
    ctx.log.info(`freed RAM state ${config.vmstate}`);
  }
}

/**
 * Loads the RAM state saved in volume `stateVolid` into a QEMU started paused (`-S`): adds
 * the volume as a block node, runs `snapshot-load` with its (single) internal snapshot,
 * removes the node again. The caller continues the VM.
 *
 * @throws InvalidConfigError (`vmstate`) when the volume holds no saved state.
 */
export async function loadVmState(ctx: GuestContext, qmp: QmpClient, stateVolid: string): Promise<void> {
  const graph = qemuBlockGraph(VMSTATE_KEY, { cache: 'writeback' }, await ctx.storage.resolve(stateVolid, { consumer: 'qemu' }), { throttle: false });
  await qmp.execute('blockdev-add', graph.blockdev);
  try {
    const nodes = await qmp.execute<NamedBlockNode[]>('query-named-block-nodes', { flat: true });
    const snaps = nodes.find((n) => n['node-name'] === graph.formatNode)?.image?.snapshots ?? [];
    const withState = snaps.filter((s) => (s['vm-state-size'] ?? 0) > 0);
    const tag = withState.at(-1)?.name;
    if (!tag) throw new InvalidConfigError('vmstate', stateVolid, `volume ${stateVolid} holds no saved RAM state`);
    await qmp.runJob(
      'snapshot-load',
      { 'job-id': `snapshot-load-${tag}`, tag, vmstate: graph.formatNode, devices: [graph.formatNode] },
      { timeoutMs: STATE_JOB_TIMEOUT_MS, signal: ctx.signal },
    );
    ctx.log.info(`loaded RAM state '${tag}' from ${stateVolid}`);
  } finally {
    await qmp.execute('blockdev-del', { 'node-name': graph.top }).catch(() => undefined);
    await ctx.storage.deactivateVolume(stateVolid).catch(() => undefined);
  }
}

/**
 * Makes a VM usable again after a snapshot whose process died midway (the facade's `unlock`
 * of `lock: snapshot`): cancels and dismisses RAM-state jobs still known to QEMU, removes the
 * state volume's block nodes (else the next RAM snapshot fails with "Duplicate nodes"), thaws
 * file systems the guest agent reports frozen, and resumes the VM if the snapshot had paused
 * it (its marker file is in the run directory), whatever failed before. The VM must run.
 *
 * @throws ProtocolError (QMP) when the state nodes cannot be removed: the VM then runs (if it
 *   was paused by the snapshot) but the next RAM snapshot would fail; the facade keeps the lock.
 */
export async function recoverInterruptedSnapshot(ctx: GuestContext, config: QemuConfig, paths: QemuRunPaths): Promise<void> {
  const marker = join(paths.dir, PAUSED_MARKER);
  await withQmp(paths.qmp, async (qmp) => {
    try {
      for (const job of await qmp.execute('query-jobs')) {
        if (!job.id.startsWith(STATE_JOB_PREFIX)) continue;
        if (job.status !== 'concluded' && job.status !== 'null') {
          await qmp.execute('job-cancel', { id: job.id }).catch((e: Error) => ctx.log.warn(`cancel of job ${job.id}: ${e.message}`));
          await qmp.waitForJob(job.id, { timeoutMs: 30_000, dismiss: false }).catch(() => undefined);
        }
        await qmp.execute('job-dismiss', { id: job.id }).catch(() => undefined);
        ctx.log.info(`dropped the interrupted job ${job.id}`);
      }
      const nodes = await qmp.execute<NamedBlockNode[]>('query-named-block-nodes', { flat: true });
      const { formatNode } = blockNodeNames(VMSTATE_KEY);
      if (nodes.some((n) => n['node-name'] === formatNode)) {
        await qmp.execute('blockdev-del', { 'node-name': formatNode });
        ctx.log.info(`removed the RAM state node ${formatNode}`);
      }
    } finally {
      // Whatever failed above, a VM the snapshot paused runs again.
      const paused = await stat(marker).then(
        () => true,
        () => false,
      );
      if (paused && !(await qmp.execute('query-status')).running) {
        await qmp.execute('cont');
        ctx.log.info('resumed the VM the interrupted snapshot had paused');
      }
      await rm(marker, { force: true });
    }
  });
  if (config.agent.enabled) {
    try {
      const qga = await QgaClient.connect(paths.qga, { timeoutMs: 5_000 });
      try {
        if ((await qga.fsFreezeStatus({ timeoutMs: 5_000 })) === 'frozen') {
          await qga.fsThaw({ timeoutMs: 30_000 });
          ctx.log.info('thawed the file systems the interrupted snapshot had frozen');
        }
      } finally {
        await qga.close();
      }
    } catch (err) {
      ctx.log.warn(`guest agent not answering, file systems not checked for a freeze: ${(err as Error).message}`);
    }
  }
}

/** One entry of `query-named-block-nodes`, as far as read here. */
interface NamedBlockNode {
  'node-name': string;
  file: string;
  drv: string;
  image?: { filename?: string; snapshots?: Array<{ name: string; 'vm-state-size'?: number }> };
}

function formatOf(access: VolumeAccess): string | undefined {
  return access.kind === 'directory' ? undefined : access.format;
}

function sameImage(node: NamedBlockNode, access: VolumeAccess): boolean {
  if (access.kind === 'file' || access.kind === 'block') return node.image?.filename === access.path || node.file === access.path;
  return true;
}

/**
 * The top block node of device `key` (`drive-<key>`), when the running VM has it; undefined
 * otherwise. Internal snapshot commands take the top node and reach the format node below
 * the throttle filter.
 */
async function attachedNode(qmp: QmpClient, key: string): Promise<string | undefined> {
  const nodes = await qmp.execute<NamedBlockNode[]>('query-named-block-nodes', { flat: true });
  const { topNode } = blockNodeNames(key);
  return nodes.some((n) => n['node-name'] === topNode) ? topNode : undefined;
}

async function allocateStateVolume(ctx: GuestContext, config: QemuConfig, disks: readonly SnapshotDisk[]): Promise<string> {
  const storage = config.vmstatestorage ?? disks[0]?.volid.slice(0, disks[0].volid.indexOf(':'));
  if (!storage) {
    throw new InvalidConfigError('vmstatestorage', undefined, `a snapshot with RAM state needs 'vmstatestorage' when the VM has no disk`);
  }
  // As qemu-server: twice the RAM plus room for device state (thin: only what is written counts).
  const sizeBytes = (config.memoryMiB * 2 + 512) * 1024 * 1024;
  try {
    const volid = await ctx.storage.allocate({ storage, vmid: config.vmid, sizeBytes, content: 'images', format: 'qcow2' });
    ctx.log.info(`allocated ${volid} for the RAM state`);
    return volid;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'CORRAL_ERR_INVALID_ARGUMENT' || code === 'CORRAL_ERR_NOT_SUPPORTED' || code === 'CORRAL_ERR_INVALID_CONFIG') {
      throw new NotSupportedError(
        'snapshot with state',
        `storage '${storage}' cannot hold the RAM state as a qcow2 volume: set 'vmstatestorage' to a storage that can (dir, nfs...)`,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * Freezes the guest's file systems through the agent; returns the thaw function. When the
 * agent does not answer, logs a warning and returns a no-op (the snapshot is then only crash
 * consistent), as qemu-server does.
 */
export async function freezeGuest(ctx: GuestContext, paths: QemuRunPaths): Promise<() => Promise<void>> {
  let qga: QgaClient;
  try {
    qga = await QgaClient.connect(paths.qga, { timeoutMs: 5_000 });
  } catch (err) {
    ctx.log.warn(`guest agent not answering, snapshot without fs-freeze: ${(err as Error).message}`);
    return async () => undefined;
  }
  try {
    const n = await qga.fsFreeze({ timeoutMs: 60_000 });
    ctx.log.info(`guest agent froze ${n} file system(s)`);
  } catch (err) {
    ctx.log.warn(`guest-fsfreeze-freeze failed, snapshot without fs-freeze: ${(err as Error).message}`);
    await qga.fsThaw({ timeoutMs: 10_000 }).catch(() => undefined);
    await qga.close();
    return async () => undefined;
  }
  return async () => {
    try {
      await qga.fsThaw({ timeoutMs: 60_000 });
    } catch (err) {
      ctx.log.warn(`guest-fsfreeze-thaw failed: ${(err as Error).message}`);
    } finally {
      await qga.close();
    }
  };
}
