/**
 * Guest snapshots: take, roll back, delete, as `[name]` sections of the config, with
 * Proxmox's `snapstate: prepare` protocol so an interrupted snapshot can be cleaned up.
 * @internal
 * @packageDocumentation
 */
import type { GuestContext, HypervisorDriver } from '../contracts/hypervisor.js';
import { AlreadyExistsError, InvalidArgumentError, InvalidStateError, NotFoundError, NotSupportedError } from '../errors.js';
import { checkSnapshotName } from '../storage/StorageFacade.js';
import type { Logger } from '../util/Logger.js';
import { withReverter } from '../util/Reverter.js';
import { SNAPSHOT_META_KEYS, type GuestDocument, type GuestSnapshotSection } from './GuestDocument.js';
import type { GuestOperationOptions, GuestOperations, GuestTaskResult } from './GuestOperations.js';
import { keepDetachedVolumes, managedVolumes } from './guestVolumes.js';

/** Options of {@link GuestFacade.snapshot}. */
export interface SnapshotGuestOptions extends GuestOperationOptions {
  /** Keep the RAM state of a running guest (VMs). */
  readonly withState?: boolean;
  readonly description?: string;
}

/** `snapstate` of a snapshot section that is being taken (Proxmox's value). */
export const SNAPSTATE_PREPARE = 'prepare';

/**
 * Takes snapshot `name` (see `GuestFacade.snapshot`). Under the guest lock, one write sets
 * `lock: snapshot` and adds the `[name]` section with `snapstate: prepare` (the config as it
 * is); the driver snapshots every volume (recording a RAM state volume in that section as soon
 * as it exists); the commit write drops `snapstate` and makes the snapshot the `parent`. A
 * failure undoes the volume snapshots and removes the section; a crash leaves the lock and
 * the prepare section, which `unlock` cleans up.
 */
export function snapshotGuest(ops: GuestOperations, vmid: number, name: string, options: SnapshotGuestOptions): Promise<GuestTaskResult> {
  checkSnapshotName(name);
  if (name === 'current' || name === 'PENDING') return Promise.reject(new InvalidArgumentError('snapshot', `'${name}' is a reserved name`));
  return ops.persistentLockTask(
    'snapshot',
    'snapshot',
    vmid,
    options,
    async (g, { task, signal }) => {
      const updateSection = async (change: (section: GuestSnapshotSection | undefined, doc: GuestDocument) => void): Promise<void> => {
        const fresh = await ops.repo.get(vmid);
        change(
          fresh.doc.snapshots.find((s) => s.name === name),
          fresh.doc,
        );
        await ops.repo.write(fresh.type, vmid, fresh.doc, fresh.digest, task.logger);
      };
      await withReverter(
        async (revert) => {
          // Registered first, so it runs last: the section goes after the volume snapshots.
          revert.add(
            () =>
              updateSection((_s, doc) => {
                doc.snapshots = doc.snapshots.filter((s) => s.name !== name);
              }),
            `remove the prepare section of snapshot '${name}'`,
          );
          const driver = ops.driver(g.type);
          const ctx = await ops.context(vmid, g.type, { log: task.logger, signal });
          const current = { ...g.doc.current };
          delete current.lock;
          const running = (await driver.status(ctx, current)).state !== 'stopped';
          if (options.withState && !driver.info.snapshotWithState) {
            throw new NotSupportedError('snapshot with state', `guest type '${g.type}' cannot keep RAM state`);
          }
          // Every volume must support snapshots before anything is taken.
          for (const v of managedVolumes(driver, current)) {
            if (!(await ops.deps.storage.hasFeature(v.volid, 'snapshot'))) {
              throw new NotSupportedError('snapshot', `volume ${v.volid} (${v.key}) is on a storage that cannot snapshot it`);
            }
          }
          const { vmstate } = await driver.snapshotCreate(ctx, current, {
            name,
            withState: !!options.withState && running,
            running,
            revert,
            recordState: (volid) => updateSection((s) => s && (s.entries.vmstate = volid)),
          });
          await updateSection((s, doc) => {
            if (!s) throw new InvalidStateError('snapshot', `the prepare section of snapshot '${name}' of guest ${vmid} disappeared`);
            delete s.entries.snapstate;
            if (vmstate) s.entries.vmstate = vmstate;
            doc.current.parent = name;
          });
        },
        { log: task.logger },
      );
      task.log(`snapshot '${name}' created`);
    },
    (g) => {
      if (g.doc.snapshots.some((s) => s.name === name)) throw new AlreadyExistsError('snapshot', name, `guest ${vmid} already has a snapshot '${name}'`);
      const entries: Record<string, string> = { ...g.doc.current };
      delete entries.lock;
      if (options.description !== undefined) entries.description = options.description;
      else delete entries.description;
      entries.snaptime = String(Math.floor(Date.now() / 1000));
      entries.snapstate = SNAPSTATE_PREPARE;
      g.doc.snapshots.push({ name, entries });
    },
  );
}

/**
 * Rolls the guest back to snapshot `name` (see `GuestFacade.rollback`): stops it if running,
 * restores every volume and the config, and resumes a snapshot with RAM state.
 */
export function rollbackGuest(
  ops: GuestOperations,
  vmid: number,
  name: string,
  options: GuestOperationOptions & { start?: boolean },
): Promise<GuestTaskResult> {
  return ops.persistentLockTask('rollback', 'rollback', vmid, options, async (g, { task, signal }) => {
    const snap = g.doc.snapshots.find((s) => s.name === name);
    if (!snap) throw new NotFoundError('snapshot', name, `guest ${vmid} has no snapshot '${name}'`);
    if (snap.entries.snapstate !== undefined) {
      throw new InvalidStateError(snap.entries.snapstate, `snapshot '${name}' of guest ${vmid} is incomplete (snapstate ${snap.entries.snapstate}): delete it`);
    }
    const driver = ops.driver(g.type);
    const ctx = await ops.context(vmid, g.type, { log: task.logger, signal });
    if ((await driver.status(ctx, g.doc.current)).state !== 'stopped') {
      task.log('stopping guest for rollback');
      await driver.stop(ctx, g.doc.current, {});
    }
    await driver.snapshotRollback(ctx, snap.entries, { name });
    const restored: Record<string, string> = {};
    for (const [k, v] of Object.entries(snap.entries)) if (!SNAPSHOT_META_KEYS.includes(k) && k !== 'parent') restored[k] = v;
    restored.parent = name;
    restored.lock = 'rollback';
    if (g.doc.current.description !== undefined && snap.entries.description === undefined) delete restored.description;
    // Disks added after the snapshot are not lost: they stay as unusedN (Proxmox's add_unused_volume).
    g.doc.current = keepDetachedVolumes(driver, g.doc.current, restored);
    g.doc.pending = {};
    g.doc.pendingDelete = [];
    await ops.repo.write(g.type, vmid, g.doc, g.digest, task.logger);
    const vmstate = snap.entries.vmstate;
    if (vmstate || options.start) {
      const cur = { ...restored };
      delete cur.lock;
      await driver.start(ctx, cur, { stateVolid: vmstate });
      task.log(vmstate ? 'resumed from snapshot RAM state' : 'started');
    }
    task.log(`rolled back to '${name}'`);
  });
}

/** Deletes snapshot `name` from every volume and the config (see `GuestFacade.deleteSnapshot`). */
export function deleteGuestSnapshot(ops: GuestOperations, vmid: number, name: string, options: GuestOperationOptions): Promise<GuestTaskResult> {
  return ops.persistentLockTask('delsnapshot', 'snapshot-delete', vmid, options, async (g, { task, signal }) => {
    const index = g.doc.snapshots.findIndex((s) => s.name === name);
    if (index < 0) throw new NotFoundError('snapshot', name, `guest ${vmid} has no snapshot '${name}'`);
    const driver = ops.driver(g.type);
    const ctx = await ops.context(vmid, g.type, { log: task.logger, signal });
    const running = (await driver.status(ctx, g.doc.current)).state !== 'stopped';
    await driver.snapshotDelete(ctx, g.doc.snapshots[index]!.entries, { name, running });
    removeSnapshotSection(g.doc, name);
    await ops.repo.write(g.type, vmid, g.doc, g.digest, task.logger);
    task.log(`snapshot '${name}' deleted`);
  });
}

/**
 * Drops the half state an interrupted snapshot left (its `snapstate: prepare` sections): the
 * volume snapshots and RAM state volume it may have made (best effort, warnings on `log`),
 * then the sections themselves. Runs under the guest lock (the facade's `unlock`).
 */
export async function dropPreparedSnapshots(driver: HypervisorDriver, ctx: GuestContext, doc: GuestDocument, log: Logger): Promise<string[]> {
  const dropped: string[] = [];
  for (const snap of doc.snapshots.filter((s) => s.entries.snapstate === SNAPSTATE_PREPARE)) {
    const running = (await driver.status(ctx, doc.current)).state !== 'stopped';
    try {
      await driver.snapshotDelete(ctx, snap.entries, { name: snap.name, running });
    } catch (err) {
      log.warn(`interrupted snapshot '${snap.name}': could not delete what it made: ${(err as Error).message}`);
    }
    removeSnapshotSection(doc, snap.name);
    dropped.push(snap.name);
  }
  return dropped;
}

/** Removes section `name`, re-parenting its children (and the current config) to its parent. */
function removeSnapshotSection(doc: GuestDocument, name: string): void {
  const snap = doc.snapshots.find((s) => s.name === name);
  if (!snap) return;
  const parent = snap.entries.parent;
  for (const entries of [doc.current, ...doc.snapshots.map((s) => s.entries)]) {
    if (entries.parent !== name) continue;
    if (parent) entries.parent = parent;
    else delete entries.parent;
  }
  doc.snapshots = doc.snapshots.filter((s) => s.name !== name);
}
