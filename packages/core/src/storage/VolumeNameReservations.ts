import { LockTimeoutError } from '../errors.js';
import type { LockLease, LockManager } from '../locks/LockManager.js';

/** `vm-100-disk-3`, `subvol-100-disk-3`...: the guest id and disk number of a Proxmox disk name. */
export const DISK_NAME = /^(?:vm|base|subvol|basevol)-(\d+)-disk-(\d+)/;

/**
 * Names of volumes that an operation has chosen but may not have created yet (a full copy,
 * an import, an upload), so that the storage lock need not be held while the data flows.
 *
 * A reservation is a lock of the kernel's {@link LockManager}, named after the storage and the
 * name, held by the operation from the choice of the name until its volume exists or was
 * freed: like every host lock it ends with its holder's process, so a crash leaves no stale
 * reservation. Disk names reserve their number, whatever their prefix (`vm-100-disk-3` and
 * `subvol-100-disk-3` are one reservation), because the next free disk number counts every
 * prefix. Choose and reserve under the storage's lock (`storage:<id>`), so that the check of
 * the existing volumes and the reservation are one step for every process.
 */
export class VolumeNameReservations {
  constructor(private readonly locks: LockManager) {}

  /**
   * Reserves `name` on storage `storage` if no one else holds it; `undefined` when another
   * operation (of any process on the host) has it. Never waits.
   *
   * @throws what the lock manager throws besides a timeout (`AbortedError` when `signal` aborts).
   */
  async tryReserve(storage: string, name: string, signal?: AbortSignal): Promise<LockLease | undefined> {
    try {
      return await this.locks.acquire(reservationLockName(storage, name), { timeoutMs: 0, signal });
    } catch (error) {
      if (error instanceof LockTimeoutError) return undefined;
      throw error;
    }
  }
}

/** The lock that reserves `name` on `storage` (a storage id holds no `:`, so it never meets `storage:<id>`). */
function reservationLockName(storage: string, name: string): string {
  const m = DISK_NAME.exec(name);
  return m ? `volume-name:${storage}:${m[1]}-disk-${Number(m[2])}` : `volume-name:${storage}:${name}`;
}
