/**
 * `kernel.guests.create`: a new guest from a config, with its new volumes allocated.
 * @internal
 * @packageDocumentation
 */
import type { GuestType } from '../contracts/hypervisor.js';
import { withReverter } from '../util/Reverter.js';
import { reserveVmid } from './allocateVmid.js';
import { checkWritableKeys, emptyGuestDocument } from './GuestDocument.js';
import { checkVmid } from './GuestConfigRepository.js';
import { reservationOptions, stringifyConfig, type GuestOperationOptions, type GuestOperations, type GuestTaskResult } from './GuestOperations.js';
import { withPlaceholderVolumes } from './guestVolumes.js';
import { fillMissingMacs } from './nicMacs.js';

/** Options of {@link GuestFacade.create}. */
export interface CreateGuestOptions extends GuestOperationOptions {
  /** The new guest's id; default the lowest free one from 100. */
  readonly vmid?: number;
}

/**
 * Validates the config (and refuses root-equivalent keys of an unprivileged caller), reserves
 * the vmid with a `lock: create` placeholder config, then under the guest lock allocates each
 * `storeid:SIZE` volume, lets the driver populate them and writes the final config: the commit
 * point. A failure before it frees every volume allocated (a failed free is a task warning)
 * and removes the placeholder.
 */
export async function createGuest(
  ops: GuestOperations,
  type: GuestType,
  config: Readonly<Record<string, string | number | boolean>>,
  options: CreateGuestOptions,
): Promise<GuestTaskResult> {
  const driver = ops.driver(type);
  const entries = stringifyConfig(config);
  // Create-time parameters (`ostemplate`, `password`...) go to the driver, never to the config.
  const parameters: Record<string, string> = {};
  for (const k of driver.createParameters ?? []) {
    if (k in entries) {
      parameters[k] = entries[k]!;
      delete entries[k];
    }
  }
  checkWritableKeys(Object.keys(entries), entries);
  // Privileges first: an unprivileged caller learns nothing about what a root-only value would do.
  const caller = ops.caller(options);
  const everything = { ...entries, ...parameters };
  ops.checkPrivileges(caller, driver, everything, Object.keys(everything), { create: true });
  // As qemu-server and pct: a NIC without a MAC gets one, written into the config.
  const traits = ops.types.get(type);
  fillMissingMacs(traits.nicMacFormat, entries, Object.keys(entries));
  driver.validate(withPlaceholderVolumes(driver, entries));
  if (options.vmid !== undefined) checkVmid(options.vmid);
  // Reserving writes a `lock: create` placeholder config: the id is ours, atomically.
  const reservation = await reserveVmid(ops.deps.store, reservationOptions(ops, type, options.vmid));
  const vmid = reservation.vmid;
  const upid = await ops
    .runTask('create', type, vmid, options, (task) =>
      ops.withGuestLock(vmid, options, task, async (signal) => {
        for (const w of reservation.warnings) task.logger.warn(w);
        await ops.checkVolumeOwners(caller, driver, vmid, entries, Object.keys(entries));
        await withReverter(
          async (revert) => {
            const doc = emptyGuestDocument(traits.configDialect);
            const requests = driver.volumeRequests(entries);
            const final = { ...entries };
            for (const [i, req] of requests.entries()) {
              task.progress(i / Math.max(1, requests.length));
              const volid = await ops.deps.storage.allocate({ storage: req.storage, vmid, sizeBytes: req.sizeBytes, content: req.content, format: req.format, signal });
              revert.add(() => ops.deps.storage.free(volid), `free ${volid}`);
              task.log(`allocated ${volid} for ${req.key}`);
              final[req.key] = driver.replaceVolume(req.key, final[req.key]!, volid, req.sizeBytes);
            }
            driver.validate(final);
            if (driver.populateVolumes) {
              const added = await driver.populateVolumes(await ops.context(vmid, type, { log: task.logger, signal }), final, { parameters });
              if (added) {
                Object.assign(final, added);
                driver.validate(final);
              }
            }
            doc.current = final;
            await ops.repo.write(type, vmid, doc, reservation.digest, task.logger);
          },
          { log: task.logger },
        );
        ops.deps.events.emit('guest:config', { vmid, type });
        task.log(`created ${type} guest ${vmid}`);
      }).catch((err: unknown) => ops.dropPlaceholder(type, vmid, err, task.logger)),
    )
    .catch((err: unknown) => ops.dropPlaceholder(type, vmid, err));
  return { upid, vmid };
}
