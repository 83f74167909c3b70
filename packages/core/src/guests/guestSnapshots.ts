/**
 * Guest snapshots: take, roll back, delete, as `[name]` sections of the config, with
 * Proxmox's `snapstate: prepare` protocol so an interrupted snapshot can be cleaned up.
 * @internal
 * @packageDocumentation
 */
import type { GuestContext, GuestVolumeRef, HypervisorDriver } from '../contracts/hypervisor.js';
import { AlreadyExistsError, InvalidArgumentError, InvalidStateError, NotFoundError, NotSupportedError } from '../errors.js';
import { checkSnapshotName } from '../storage/StorageFacade.js';
import type { Logger } from '../util/Logger.js';
import { withReverter } from '../util/Reverter.js';
import { SNAPSHOT_META_KEYS, type GuestDocument, type GuestSnapshotSection } from './GuestDocument.js';
import type { GuestOperationOptions, GuestOperations, GuestTaskResult } from './GuestOperations.js';
import { isUnusedKey, keepDetachedVolumes, managedVolumes } from './guestVolumes.js';

/** Options of {@link GuestFacade.snapshot}. */
export interface SnapshotGuestOptions extends GuestOperationOptions {
  /** Keep the RAM state of a running guest (VMs). */
  readonly withState?: boolean;
  readonly description?: string;
}

/** `snapstate` of a snapshot section that is being taken (Proxmox's value). */
export const SNAPSTATE_PREPARE = 'prepare';
/** `snapstate` of a snapshot section that is being deleted (Proxmox's value). */
export const SNAPSTATE_DELETE = 'delete';

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

/** Options of {@link GuestFacade.deleteSnapshot}. */
export interface DeleteSnapshotOptions extends GuestOperationOptions {
  /**
   * Remove the section from the config even when deleting the volume snapshots fails (each
   * failure a task warning), as Proxmox's `delsnapshot --force`: for a snapshot whose disks
   * have lost it, which could never be rolled back to.
   */
  readonly force?: boolean;
}

/**
 * Deletes snapshot `name` from every volume and the config (see `GuestFacade.deleteSnapshot`).
 * The write that takes the `snapshot-delete` lock also marks the section `snapstate: delete`
 * (Proxmox's protocol), so a crash leaves a section `unlock` finishes deleting.
 */
export function deleteGuestSnapshot(ops: GuestOperations, vmid: number, name: string, options: DeleteSnapshotOptions): Promise<GuestTaskResult> {
  return ops.persistentLockTask(
    'delsnapshot',
    'snapshot-delete',
    vmid,
    options,
    async (g, { task, signal }) => {
      const index = g.doc.snapshots.findIndex((s) => s.name === name);
      const driver = ops.driver(g.type);
      const ctx = await ops.context(vmid, g.type, { log: task.logger, signal });
      const running = (await driver.status(ctx, g.doc.current)).state !== 'stopped';
      const entries = g.doc.snapshots[index]!.entries;
      try {
        await driver.snapshotDelete(ctx, entries, { name, running });
      } catch (err) {
        if (!options.force) throw err;
        task.logger.warn(`snapshot '${name}': deleting the volume snapshots failed (${(err as Error).message}); the section goes anyway (force)`);
        // The driver stopped at its first failure: a stopped guest's other volumes are cleaned
        // through storage, one by one (a running guest's images are QEMU's to change).
        if (!running) await deleteVolumeSnapshotsBestEffort(ops, driver, entries, name, task.logger);
      }
      removeSnapshotSection(g.doc, name);
      await ops.repo.write(g.type, vmid, g.doc, g.digest, task.logger);
      task.log(`snapshot '${name}' deleted`);
    },
    (g) => {
      const snap = g.doc.snapshots.find((s) => s.name === name);
      if (!snap) throw new NotFoundError('snapshot', name, `guest ${vmid} has no snapshot '${name}'`);
      snap.entries.snapstate = SNAPSTATE_DELETE;
    },
  );
}

/**
 * Makes config and volumes agree again after an interrupted snapshot operation (the facade's
 * `unlock` of `lock: snapshot` or `snapshot-delete`), under the guest lock:
 * - a section being taken (`snapstate: prepare`) or deleted (`snapstate: delete`) is deleted
 *   with what it made or what is left of it;
 * - a finished section whose disks do not all have the snapshot (it could never be rolled back
 *   to) is deleted the same way, with a warning naming the disks that lack it.
 * Deleting volume snapshots is best effort (warnings on `log`); the sections always go.
 *
 * @returns the names of the sections removed from `doc` (the caller writes it).
 */
export async function dropBrokenSnapshots(ops: GuestOperations, driver: HypervisorDriver, ctx: GuestContext, doc: GuestDocument, log: Logger): Promise<string[]> {
  const dropped: string[] = [];
  /** Whether the guest runs: asked once, and only when a section goes. */
  let running: boolean | undefined;
  for (const snap of [...doc.snapshots]) {
    let why: string | undefined;
    let lost = false;
    if (snap.entries.snapstate !== undefined) {
      why = snap.entries.snapstate === SNAPSTATE_PREPARE ? 'interrupted while it was taken' : 'interrupted while it was deleted';
    } else {
      const lacking = await disksLackingSnapshot(ops, driver, snap);
      if (lacking.length > 0) why = `${lacking.join(', ')} ${lacking.length === 1 ? 'has' : 'have'} no such snapshot`;
      lost = true;
    }
    if (why === undefined) continue;
    running ??= (await driver.status(ctx, doc.current)).state !== 'stopped';
    try {
      await driver.snapshotDelete(ctx, snap.entries, { name: snap.name, running });
    } catch (err) {
      log.warn(`snapshot '${snap.name}' (${why}): could not delete what is left of it on its volumes: ${(err as Error).message}`);
    }
    removeSnapshotSection(doc, snap.name);
    // An interrupted operation's section is expected after a crash; a finished snapshot that
    // its disks lost is news.
    (lost ? log.warn : log.info).call(log, `dropped snapshot '${snap.name}': ${why}`);
    dropped.push(snap.name);
  }
  return dropped;
}

/** The volumes a snapshot section covers: its disks, without `unusedN` volumes and the RAM state. */
function sectionDisks(driver: HypervisorDriver, entries: Record<string, string>): GuestVolumeRef[] {
  return managedVolumes(driver, entries).filter((v) => v.key !== 'vmstate' && !isUnusedKey(v.key));
}

/**
 * Deletes snapshot `name` of every disk of `entries` through storage, and frees its RAM state
 * volume (`vmstate`), which nothing names once the section goes; each failure is a warning.
 */
async function deleteVolumeSnapshotsBestEffort(ops: GuestOperations, driver: HypervisorDriver, entries: Record<string, string>, name: string, log: Logger): Promise<void> {
  const warnUnlessGone = (what: string) => (err: Error) => {
    if ((err as { code?: string }).code !== 'CORRAL_ERR_NOT_FOUND') log.warn(`${what} stays: ${err.message}`);
  };
  for (const v of sectionDisks(driver, entries)) await ops.deps.storage.snapshotDelete(v.volid, name).catch(warnUnlessGone(`snapshot '${name}' of ${v.volid}`));
  if (entries.vmstate) await ops.deps.storage.free(entries.vmstate).catch(warnUnlessGone(`RAM state ${entries.vmstate} of snapshot '${name}'`));
}

/** The disks (not `unusedN`, not the RAM state) of a finished section that do not list its snapshot. */
async function disksLackingSnapshot(ops: GuestOperations, driver: HypervisorDriver, snap: GuestSnapshotSection): Promise<string[]> {
  const lacking: string[] = [];
  for (const v of sectionDisks(driver, snap.entries)) {
    const names = await ops.deps.storage.snapshotList(v.volid).then(
      (list) => list.map((x) => x.name),
      () => undefined,
    );
    // A volume whose snapshots cannot be listed (storage down) is not taken as proof of loss.
    if (names && !names.includes(snap.name)) lacking.push(v.volid);
  }
  return lacking;
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
