/**
 * The persistent `lock:` key of guest configs, with Proxmox's semantics.
 *
 * Long operations (backup, migrate, snapshot...) write `lock: <reason>` into the guest config
 * while they run, so the guest stays locked across the short in-memory guest lock and even
 * across a crash; `unlock` ({@link clearGuestLock} without an expected value) removes it.
 * These helpers work on the current section as {@link GuestConfigEntries} (key -> raw string)
 * and never touch the store: the caller reads, applies them and writes with the digest under
 * the guest lock ({@link guestLockName}).
 *
 * @packageDocumentation
 */
import type { GuestConfigEntries } from '../contracts/hypervisor.js';
import { GuestLockedError, InvalidArgumentError, InvalidStateError } from '../errors.js';

/** Values of the `lock:` key Proxmox uses (qemu-server and pve-container together). */
export const GUEST_LOCK_REASONS = [
  'backup',
  'clone',
  'create',
  'migrate',
  'rollback',
  'snapshot',
  'snapshot-delete',
  'suspending',
  'suspended',
  'disk',
  'mounted',
  'fstrim',
] as const;

/** A value of the persistent `lock:` key. */
export type GuestLockReason = (typeof GUEST_LOCK_REASONS)[number];

/** The config key holding the persistent lock. */
export const GUEST_LOCK_KEY = 'lock';

/** True when `value` is one of {@link GUEST_LOCK_REASONS}. */
export function isGuestLockReason(value: string): value is GuestLockReason {
  return (GUEST_LOCK_REASONS as readonly string[]).includes(value);
}

/**
 * Name of the in-memory guest lock for {@link LockManager} (`guest:<vmid>`), taken around
 * every read-modify-write of the guest's config. One name per vmid whatever the guest type,
 * as Proxmox's `lock-<vmid>.conf`.
 */
export function guestLockName(vmid: number): string {
  if (!Number.isSafeInteger(vmid) || vmid < 1) {
    throw new InvalidArgumentError('vmid', `guest id must be a positive integer, got ${String(vmid)}`);
  }
  return `guest:${vmid}`;
}

/** The persistent lock reason in `entries`, or undefined when the guest is not locked. */
export function getGuestLock(entries: GuestConfigEntries): string | undefined {
  const value = entries[GUEST_LOCK_KEY];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Refuses an operation on a guest with a persistent lock (Proxmox's `check_lock`).
 *
 * @param options.allow lock reasons the operation tolerates (Proxmox lets e.g. `start`
 *   through `suspended` to resume, and `skiplock` ignores every lock: pass all reasons).
 * @throws GuestLockedError naming the vmid and the lock.
 */
export function checkNotLocked(
  entries: GuestConfigEntries,
  vmid: number,
  options: { allow?: readonly string[] } = {},
): void {
  const lock = getGuestLock(entries);
  if (lock !== undefined && !(options.allow ?? []).includes(lock)) {
    throw new GuestLockedError(vmid, lock);
  }
}

/**
 * Returns a copy of `entries` with `lock: <reason>` set (Proxmox's `set_lock`). The key keeps
 * its position when present and is appended otherwise.
 *
 * @throws GuestLockedError when the guest already carries a lock.
 * @throws InvalidArgumentError when `reason` is not one of {@link GUEST_LOCK_REASONS}.
 */
export function setGuestLock(entries: GuestConfigEntries, vmid: number, reason: GuestLockReason): Record<string, string> {
  if (!isGuestLockReason(reason)) {
    throw new InvalidArgumentError('reason', `'${String(reason)}' is not a guest lock (one of ${GUEST_LOCK_REASONS.join(', ')})`);
  }
  checkNotLocked(entries, vmid);
  return { ...entries, [GUEST_LOCK_KEY]: reason };
}

/**
 * Returns a copy of `entries` without the `lock:` key (Proxmox's `remove_lock`).
 *
 * @param options.expected only remove this lock reason; another one is an error. Omitted: remove
 *   any lock (`qm unlock`).
 * @param options.ifLocked do not complain when there is no lock (cleanup paths).
 * @throws InvalidStateError when there is no lock to remove, or a different one than expected
 *   (`state` is the lock found, or `unlocked`).
 */
export function clearGuestLock(
  entries: GuestConfigEntries,
  vmid: number,
  options: { expected?: GuestLockReason; ifLocked?: boolean } = {},
): Record<string, string> {
  const lock = getGuestLock(entries);
  if (lock === undefined) {
    if (options.ifLocked) return { ...entries };
    throw new InvalidStateError(
      'unlocked',
      `guest ${vmid}: no lock found trying to remove ${options.expected === undefined ? 'any' : `'${options.expected}'`} lock`,
    );
  }
  if (options.expected !== undefined && lock !== options.expected) {
    throw new InvalidStateError(lock, `guest ${vmid}: found lock '${lock}' trying to remove '${options.expected}' lock`);
  }
  const { [GUEST_LOCK_KEY]: _removed, ...rest } = entries;
  return rest;
}

/** Same as {@link checkNotLocked} (the name the guest facade uses). */
export const assertNotLocked = checkNotLocked;
