/**
 * Storage-level operations of lvm and lvmthin: definition checks, activation, usage.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, NotSupportedError, storageFlag, UnavailableError, type StorageStatus } from '@corral/core';
import { LvmCommands } from './LvmCommands.js';
import type { LvmLv } from './parseLvmReport.js';
import type { LvmSession } from './LvmSession.js';

/** The thin pool LV of an lvmthin storage, or undefined when the VG has no thin pool of that name. */
async function thinPool(s: LvmSession): Promise<LvmLv | undefined> {
  const lv = await s.findLv(s.opts.thinpool!);
  return lv && lv.type === 't' ? lv : undefined;
}

/**
 * Checks a definition: `snapshot-as-volume-chain 1` is refused (not implemented); the VG (and
 * for lvmthin the thin pool) must exist.
 *
 * @throws InvalidConfigError naming the option, NotSupportedError.
 */
export async function checkLvmDefinition(s: LvmSession): Promise<void> {
  const o = s.ctx.storage.options;
  if (storageFlag(o['snapshot-as-volume-chain'])) {
    throw new NotSupportedError('snapshot-as-volume-chain', `storage '${s.sid}': 'snapshot-as-volume-chain' (qcow2 volume chains on LVM) is not supported by this driver`);
  }
  if (!(await s.vgInfo())) throw new InvalidConfigError('vgname', s.vg, `storage '${s.sid}': volume group '${s.vg}' does not exist`);
  if (s.type === 'lvmthin' && !(await thinPool(s))) {
    throw new InvalidConfigError('thinpool', s.opts.thinpool, `storage '${s.sid}': volume group '${s.vg}' has no thin pool '${s.opts.thinpool}'`);
  }
}

/**
 * Makes the storage usable: the VG must be visible (one `vgscan --mknodes` when not, as
 * Proxmox); for lvmthin the pool is activated (`lvchange -ay -K`) unless it is active. LVs of
 * lvm are activated one by one when resolved.
 *
 * @throws UnavailableError (no VG, no thin pool).
 */
export async function activateLvmStorage(s: LvmSession): Promise<void> {
  if (!(await s.vgInfo())) {
    await s.run(LvmCommands.vgscan()).catch((err: unknown) => s.ctx.log.warn(`storage '${s.sid}': vgscan failed: ${(err as Error).message}`));
    await s.requireVg();
  }
  if (s.type !== 'lvmthin') return;
  const pool = await thinPool(s);
  if (!pool) throw new UnavailableError(`storage:${s.sid}`, `storage '${s.sid}': volume group '${s.vg}' has no thin pool '${s.opts.thinpool}'`);
  if (pool.state === 'a') return;
  try {
    await s.run(LvmCommands.activate(s.vg, pool.name, 'thin'));
  } catch (err) {
    s.fail(err);
  }
}

/** `vgchange -aln <vg>` for lvm (Proxmox's deactivate_storage); lvmthin keeps its pool active. */
export async function deactivateLvmStorage(s: LvmSession): Promise<void> {
  if (s.type !== 'lvm') return;
  try {
    await s.run(LvmCommands.vgDeactivate(s.vg));
  } catch (err) {
    s.fail(err);
  }
}

/**
 * Usage: lvm from `vgs` (size, free); lvmthin from the pool's `lvs` row (size, data percent
 * used). `active: false` when the VG or pool is missing or the pool is inactive; an unknown
 * activation state (`X`: LVM running with activation disabled) counts as active.
 */
export async function lvmStorageStatus(s: LvmSession): Promise<StorageStatus> {
  const down: StorageStatus = { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
  try {
    if (s.type === 'lvm') {
      const vg = await s.vgInfo();
      if (!vg) return down;
      return { active: true, totalBytes: vg.sizeBytes, usedBytes: vg.sizeBytes - vg.freeBytes, availableBytes: vg.freeBytes };
    }
    if (!(await s.vgInfo())) return down;
    const pool = await thinPool(s);
    if (!pool || pool.sizeBytes === 0) return down;
    const used = Math.min(pool.sizeBytes, Math.round((pool.sizeBytes * (pool.dataPercent ?? 0)) / 100));
    return { active: pool.state !== '-', totalBytes: pool.sizeBytes, usedBytes: used, availableBytes: pool.sizeBytes - used };
  } catch (err) {
    s.ctx.log.warn(`storage '${s.sid}': status unavailable: ${(err as Error).message}`);
    return down;
  }
}
