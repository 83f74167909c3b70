/**
 * `kernel.guests.rescan` (Proxmox's `qm rescan` / `pct rescan`): orphaned volumes become
 * `unusedN`, disk sizes follow the volumes.
 * @internal
 * @packageDocumentation
 */
import { parsePropertyString, parseSize } from '../formats/propertyString.js';
import type { GuestOperationOptions, GuestOperations } from './GuestOperations.js';
import { isUnusedKey, managedVolumes, nextUnusedKey, referencedVolids } from './guestVolumes.js';

/** Options of {@link GuestFacade.rescan}. */
export interface RescanOptions extends GuestOperationOptions {
  /** Only this guest (default: every guest of the node). */
  readonly vmid?: number;
  /** Report what would change without writing (`--dryrun`). */
  readonly dryRun?: boolean;
}

/** What a rescan changed (or, with `dryRun`, would change) in one guest. */
export interface GuestRescanChange {
  readonly vmid: number;
  /** Volumes owned by the guest that no config key referenced, added as `unusedN`. */
  readonly added: ReadonlyArray<{ readonly key: string; readonly volid: string }>;
  /** Volumes whose `size=` in the config differed from their real size, in bytes. */
  readonly resized: ReadonlyArray<{ readonly key: string; readonly volid: string; readonly sizeBytes: number }>;
}

/** What {@link GuestFacade.rescan} returns. */
export interface RescanResult {
  readonly upid: string;
  /** Guests that changed, by vmid. */
  readonly changes: readonly GuestRescanChange[];
}

/**
 * Lists the guest volumes of every storage of the node once, then, per guest config (under
 * that guest's lock): adds each volume the guest owns but no section references as `unusedN`,
 * and updates the `size=` of the current section's volumes to their real size. Volumes whose
 * owner has no config are left alone (they are another node's, or need `destroy` of a guest
 * that reuses the id). Runs as one task (`rescan`); storages that cannot be listed are task
 * warnings.
 */
export async function rescanGuests(ops: GuestOperations, options: RescanOptions): Promise<RescanResult> {
  const changes: GuestRescanChange[] = [];
  const upid = await ops.runTask('rescan', undefined, options.vmid, options, async (task) => {
    const byOwner = new Map<number, Array<{ volid: string; sizeBytes: number }>>();
    for (const def of await ops.deps.storage.list()) {
      if (def.disabled || (def.nodes.length > 0 && !def.nodes.includes(ops.deps.node))) continue;
      if (!def.content.includes('images') && !def.content.includes('rootdir')) continue;
      try {
        for (const v of await ops.deps.storage.listVolumes(def.id, options.vmid === undefined ? {} : { vmid: options.vmid })) {
          if (v.vmid === undefined || (v.content !== 'images' && v.content !== 'rootdir')) continue;
          if (!byOwner.has(v.vmid)) byOwner.set(v.vmid, []);
          byOwner.get(v.vmid)!.push({ volid: v.volid, sizeBytes: v.sizeBytes });
        }
      } catch (err) {
        task.logger.warn(`storage '${def.id}' could not be listed: ${(err as Error).message}`);
      }
    }
    let vmids: number[];
    if (options.vmid !== undefined) vmids = [options.vmid];
    else {
      const all = await ops.repo.summaries();
      for (const g of all) if (g.error) task.logger.warn(`guest ${g.vmid} skipped: its config cannot be read (${g.error.message})`);
      vmids = all.filter((g) => !g.error).map((g) => g.vmid);
    }
    for (const vmid of vmids) {
      const owned = byOwner.get(vmid) ?? [];
      const change = await ops.withGuestLock(vmid, options, task, async () => {
        const g = await ops.repo.find(vmid);
        if (!g) return undefined;
        const driver = ops.driver(g.type);
        const referenced = referencedVolids(driver, g.doc);
        const sizes = new Map(owned.map((v) => [v.volid, v.sizeBytes]));
        const added: Array<{ key: string; volid: string }> = [];
        const resized: Array<{ key: string; volid: string; sizeBytes: number }> = [];
        for (const v of owned) {
          if (referenced.has(v.volid)) continue;
          // Listed before this guest's lock was taken: an update may have freed it since. A
          // volume that exists but cannot be read (a half-written image) is adopted all the same.
          const exists = await ops.deps.storage.volumeInfo(v.volid).then(
            () => true,
            (err: { code?: string }) => err?.code !== 'CORRAL_ERR_NOT_FOUND',
          );
          if (!exists) continue;
          const key = nextUnusedKey(g.doc.current);
          g.doc.current[key] = v.volid;
          added.push({ key, volid: v.volid });
        }
        for (const v of managedVolumes(driver, g.doc.current)) {
          const sizeBytes = sizes.get(v.volid);
          if (!sizeBytes || isUnusedKey(v.key) || v.key === 'vmstate') continue;
          const value = g.doc.current[v.key]!;
          if (configuredSize(value) === sizeBytes) continue;
          g.doc.current[v.key] = driver.replaceVolume(v.key, value, v.volid, sizeBytes);
          resized.push({ key: v.key, volid: v.volid, sizeBytes });
        }
        if (added.length === 0 && resized.length === 0) return undefined;
        if (!options.dryRun) await ops.repo.write(g.type, vmid, g.doc, g.digest, task.logger);
        return { vmid, added, resized };
      });
      if (!change) continue;
      changes.push(change);
      for (const a of change.added) task.log(`guest ${vmid}: ${options.dryRun ? 'would add' : 'added'} ${a.volid} as ${a.key}`);
      for (const r of change.resized)
        task.log(`guest ${vmid}: ${options.dryRun ? 'would update' : 'updated'} size of ${r.key} (${r.volid}) to ${r.sizeBytes} bytes`);
    }
  });
  return { upid, changes };
}

/** The `size=` of a volume's property string in bytes, or undefined when absent or unreadable. */
function configuredSize(value: string): number | undefined {
  try {
    const size = parsePropertyString(value, { defaultKey: 'volume' }).size;
    return size === undefined ? undefined : parseSize(size);
  } catch {
    return undefined;
  }
}
