/**
 * `kernel.guests.template`: a stopped guest becomes a template.
 * @internal
 * @packageDocumentation
 */
import { ConflictError, DigestMismatchError, InvalidStateError, isWriteOutcomeUnknown } from '../errors.js';
import { checkNotLocked } from '../locks/guestLock.js';
import type { GuestOperationOptions, GuestOperations, GuestTaskResult } from './GuestOperations.js';
import { isUnusedKey, managedVolumes } from './guestVolumes.js';

/**
 * Converts a stopped guest without snapshots into a template: every volume becomes a base
 * (`base-...`; `unusedN` volumes stay as they are), each followed by a config write, then
 * `template: 1` is written. When a write fails after a volume was renamed to its base, the
 * task warns naming both volids (the config names the old one).
 */
export function templateGuest(ops: GuestOperations, vmid: number, options: GuestOperationOptions): Promise<GuestTaskResult> {
  return ops.guestTask('template', vmid, options, async (g, { task }) => {
    const driver = ops.driver(g.type);
    checkNotLocked(g.doc.current, vmid);
    if (g.doc.current.template === '1') throw new InvalidStateError('template', `guest ${vmid} is a template already`);
    if (g.doc.snapshots.length > 0) throw new InvalidStateError('snapshots', `guest ${vmid} has snapshots: delete them before converting to a template`);
    await ops.requireState(driver, g, ['stopped']);
    // As qemu-server: the config is written after each volume turned into a base, so it names
    // the volumes that exist even when a later step fails. A base keeps its data and its guest
    // still uses it.
    const volumes = managedVolumes(driver, g.doc.current).filter((x) => !isUnusedKey(x.key));
    // A base is the guest's own volume renamed: another guest's volume (or a shared one) would
    // vanish under its owner's config, so it is refused, for every caller, before any change.
    for (const v of volumes) {
      const owner = (await ops.deps.storage.parse(v.volid)).vmid;
      if (owner !== vmid) {
        throw new ConflictError(`guest ${vmid} cannot become a template: ${v.key} is ${v.volid}, ${owner === undefined ? 'a volume of no guest' : `a volume of guest ${owner}`} (only the guest's own volumes become bases)`);
      }
    }
    let digest = g.digest;
    for (const v of volumes) {
      const base = await ops.deps.storage.createBase(v.volid);
      task.log(`${v.key}: ${v.volid} -> ${base}`);
      if (base === v.volid) continue;
      g.doc.current[v.key] = driver.replaceVolume(v.key, g.doc.current[v.key]!, base);
      // The base exists and the old name is gone: the config must say so (there is no undo of
      // a base), so a failed write is tried once more before the guest is left naming a volume
      // that no longer exists.
      try {
        digest = await ops.repo.write(g.type, vmid, g.doc, digest, task.logger).catch((err: Error) => {
          // A refused compare-and-set, or a write that may have landed, is not tried again.
          if (err instanceof DigestMismatchError || isWriteOutcomeUnknown(err)) throw err;
          task.log(`writing the config after ${v.volid} became ${base} failed (${err.message}): trying once more`);
          return ops.repo.write(g.type, vmid, g.doc, digest, task.logger);
        });
      } catch (err) {
        task.logger.warn(`${v.volid} became ${base}, but the config naming it could not be written: ${(err as Error).message}`);
        throw err;
      }
    }
    g.doc.current.template = '1';
    await ops.repo.write(g.type, vmid, g.doc, digest, task.logger);
  });
}
