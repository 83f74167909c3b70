/**
 * `kernel.guests.clone`: a new guest from a template (linked) or any guest (full copy).
 * @internal
 * @packageDocumentation
 */
import type { GuestVolumeRef, HypervisorDriver } from '../contracts/hypervisor.js';
import { InvalidArgumentError, InvalidStateError, NotFoundError } from '../errors.js';
import type { Caller } from '../security/Caller.js';
import { withReverter } from '../util/Reverter.js';
import { checkNotLocked } from '../locks/guestLock.js';
import { reserveVmid } from './allocateVmid.js';
import { emptyGuestDocument, SNAPSHOT_META_KEYS } from './GuestDocument.js';
import { checkVmid } from './GuestConfigRepository.js';
import { reservationOptions, type GuestOperationOptions, type GuestOperations, type GuestTaskResult } from './GuestOperations.js';
import { isUnusedKey, managedVolumes } from './guestVolumes.js';
import { withFreshMac } from './nicMacs.js';

/** Options of {@link GuestFacade.clone}. */
export interface CloneGuestOptions extends GuestOperationOptions {
  /** The clone's id; default the lowest free one from 100. */
  readonly newid?: number;
  /** The clone's `name` (VMs) or `hostname` (containers). */
  readonly name?: string;
  /** Full copies (default for non-templates) or linked clones (default for templates). */
  readonly full?: boolean;
  /**
   * Target storage of full copies (default: each volume's own storage). Refused for a linked
   * clone (`InvalidArgumentError` naming `storage`), as Proxmox refuses it.
   */
  readonly storage?: string;
  /** Clone the state of this snapshot. */
  readonly snapshot?: string;
}

/**
 * Clones guest `vmid` (see `GuestFacade.clone`). Holds the source's guest lock shared for the
 * whole clone (a `destroy` or config change of the source waits; other clones run alongside)
 * and the new guest's lock exclusive. As qemu-server, the new config is written first with
 * `lock: clone` and without the source's disks, then again after each volume is made, so it
 * never points at the source's volumes and always names the volumes made so far; `unusedN`
 * volumes are not cloned. The clone's config gets the source's keys, so an unprivileged caller
 * may clone only what it could create: no root-equivalent key, and no volume that another
 * guest owns (`PermissionError` naming the key, checked under the lock before any volume is
 * made). The final write (without the lock) is the commit point; a failure
 * before it frees every volume made (a failed free is a task warning) and deletes the config.
 */
export async function cloneGuest(ops: GuestOperations, vmid: number, options: CloneGuestOptions): Promise<GuestTaskResult & { newid: number }> {
  const g0 = await ops.repo.get(vmid);
  const type = g0.type;
  const driver = ops.driver(type);
  const isTemplate = g0.doc.current.template === '1';
  const full = options.full ?? !isTemplate;
  if (!full && !isTemplate && !options.snapshot) {
    throw new InvalidArgumentError('full', `a linked clone needs a template (guest ${vmid} is not one) or a snapshot`);
  }
  if (options.storage !== undefined && !full) {
    // As qemu-server and pct: a linked clone lives beside its base volume.
    throw new InvalidArgumentError('storage', `parameter 'storage' not allowed for linked clones (guest ${vmid}): a linked clone stays on its base volume's storage`);
  }
  if (options.newid !== undefined) checkVmid(options.newid);
  // The clone's config is the source's: it may hold root-equivalent keys only for a caller
  // who could have written them (checked here before anything happens, and again under the lock).
  const caller = ops.caller(options);
  cloneConfig(ops, driver, caller, g0.doc.current, options);
  const reservation = await reserveVmid(ops.deps.store, reservationOptions(ops, type, options.newid));
  const newid = reservation.vmid;
  const upid = await ops
    .runTask('clone', type, vmid, options, (task) =>
      ops.withGuestLock(
        vmid,
        options,
        task,
        () =>
          ops.withGuestLock(newid, options, task, async (signal) => {
            for (const w of reservation.warnings) task.logger.warn(w);
            const src = await ops.repo.get(vmid);
            checkNotLocked(src.doc.current, vmid);
            let source: Record<string, string> = { ...src.doc.current };
            if (options.snapshot) {
              const snap = src.doc.snapshots.find((s) => s.name === options.snapshot);
              if (!snap) throw new NotFoundError('snapshot', options.snapshot, `guest ${vmid} has no snapshot '${options.snapshot}'`);
              if (snap.entries.snapstate !== undefined) throw new InvalidStateError(snap.entries.snapstate, `snapshot '${options.snapshot}' of guest ${vmid} is incomplete`);
              source = { ...snap.entries };
              for (const k of SNAPSHOT_META_KEYS) delete source[k];
            }
            const { next, volumes } = cloneConfig(ops, driver, caller, source, options);
            // The clone copies (or references) the source's volumes: another guest's volume,
            // attached by a privileged caller, is one an unprivileged caller could not attach.
            await ops.checkVolumeOwners(caller, driver, vmid, source, Object.keys(source).filter((k) => !isUnusedKey(k)));
            const doc = emptyGuestDocument(ops.types.get(type).configDialect);
            let digest = reservation.digest;
            await withReverter(
              async (revert) => {
                revert.add(() => ops.repo.delete(type, newid, digest), `delete the config of ${newid}`);
                doc.current = { ...next, lock: 'clone' };
                digest = await ops.repo.write(type, newid, doc, digest, task.logger);
                for (const [i, v] of volumes.entries()) {
                  task.progress(i / Math.max(1, volumes.length));
                  const target = options.storage ?? v.volid.slice(0, v.volid.indexOf(':'));
                  const made = full
                    ? await ops.deps.storage.copy(v.volid, { targetStorage: target, vmid: newid, snapshot: options.snapshot, signal, log: task.logger })
                    : await ops.deps.storage.cloneLinked(v.volid, { vmid: newid, snapshot: options.snapshot, signal });
                  revert.add(() => ops.deps.storage.free(made), `free ${made}`);
                  task.log(`${v.key}: ${v.volid} -> ${made} (${full ? 'full copy' : 'linked clone'})`);
                  next[v.key] = driver.replaceVolume(v.key, source[v.key]!, made);
                  doc.current = { ...inKeyOrder(next, source), lock: 'clone' };
                  digest = await ops.repo.write(type, newid, doc, digest, task.logger);
                }
                doc.current = inKeyOrder(next, source);
                await ops.repo.write(type, newid, doc, digest, task.logger);
              },
              { log: task.logger },
            );
            ops.deps.events.emit('guest:config', { vmid: newid, type });
            task.log(`cloned ${vmid} to ${newid}`);
          }),
        'shared',
      ).catch((err: unknown) => ops.dropPlaceholder(type, newid, err, task.logger)),
    )
    .catch((err: unknown) => ops.dropPlaceholder(type, newid, err));
  return { upid, vmid, newid };
}

/**
 * The clone's config from the source's `source` (current section or snapshot): without the
 * volumes to clone (added as they are made), `parent`, `template`, `lock` and `unusedN`, with
 * the new name and fresh MACs. Refuses root-equivalent keys of an unprivileged caller
 * (`PermissionError`) and a config the driver refuses (`InvalidConfigError`, e.g. a bad name).
 */
function cloneConfig(
  ops: GuestOperations,
  driver: HypervisorDriver,
  caller: Caller,
  source: Record<string, string>,
  options: CloneGuestOptions,
): { next: Record<string, string>; volumes: GuestVolumeRef[] } {
  const proposed: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (!['parent', 'template', 'lock'].includes(k) && !isUnusedKey(k)) proposed[k] = v;
  const traits = ops.types.get(driver.info.type);
  if (options.name) proposed[traits.nameKey] = options.name;
  ops.checkPrivileges(caller, driver, proposed, Object.keys(proposed), { create: true });
  driver.validate(proposed);
  const volumes = managedVolumes(driver, proposed).filter((v) => v.key !== 'vmstate');
  const next: Record<string, string> = {};
  for (const [k, v] of Object.entries(proposed)) if (!volumes.some((x) => x.key === k)) next[k] = v;
  for (const k of Object.keys(next)) if (/^net\d+$/.test(k)) next[k] = withFreshMac(traits.nicMacFormat, k, next[k]!);
  return { next, volumes };
}

/** `entries` with the keys of `order` first, in that order (the source's layout), then the rest. */
function inKeyOrder(entries: Record<string, string>, order: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(order)) if (k in entries) out[k] = entries[k]!;
  for (const [k, v] of Object.entries(entries)) if (!(k in out)) out[k] = v;
  return out;
}
