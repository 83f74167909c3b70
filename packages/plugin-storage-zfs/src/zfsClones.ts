/**
 * Templates and linked clones on a zfspool storage, as Proxmox's ZFSPoolPlugin: a template is
 * the volume renamed to `base-`/`basevol-` with a snapshot `__base__`; a linked clone is
 * `zfs clone` of that snapshot (volname `base-X/vm-Y`) or of any snapshot (volname `vm-Y`).
 *
 * @packageDocumentation
 */
import { withReverter } from '@corral/core';
import { ZfsCommands } from './ZfsCommands.js';
import { retryWhileBusy } from './zfsBusyRetry.js';
import { zfsFailure } from './zfsErrors.js';
import { zfsNumber } from './parseZfsGet.js';
import { REFQUOTA_USER_PROPERTY, createZfsSnapshot } from './zfsSnapshots.js';
import { parseZfsVolname, zfsBaseName } from './zfsVolname.js';
import { BASE_SNAPSHOT, checkNewName, datasetProps, destroyQuietly } from './zfsVolumes.js';
import { ensureMounted, waitForZvol } from './zfsAccess.js';
import type { ZfsSession } from './ZfsSession.js';

/**
 * `zfs rename`, retried while the dataset is busy ({@link retryWhileBusy}: zfs-fuse says so for
 * any mounted filesystem); where it had to be unmounted, the new name is mounted afterwards (the
 * old one again if the rename failed).
 */
async function renameDataset(s: ZfsSession, from: string, to: string, volid: string): Promise<void> {
  let unmounted = false;
  try {
    await retryWhileBusy(s, from, () => s.run(ZfsCommands.rename(from, to)), { unmountBetweenTries: true, onUnmount: () => (unmounted = true) });
  } catch (err) {
    if (unmounted) await s.run(ZfsCommands.mount(from)).catch(() => undefined);
    s.fail(err, { volid });
  }
  if (unmounted) await s.run(ZfsCommands.mount(to)).catch((err: unknown) => s.ctx.log.warn(`could not mount '${to}' after rename: ${(err as Error).message}`));
}

/**
 * Turns a volume into a template: renames `vm-`→`base-` / `subvol-`→`basevol-` and takes the
 * snapshot `__base__` (with the refquota record for subvols). A failed snapshot renames the
 * volume back. Returns the new volname (`base-100-disk-0`, or `base-1-disk-0/base-100-disk-0`
 * for a linked clone).
 *
 * @throws NotFoundError (kind `volume`), AlreadyExistsError (the base name is taken).
 */
export async function createZfsBase(s: ZfsSession, volname: string): Promise<string> {
  const v = parseZfsVolname(volname);
  if (v.isBase) return volname;
  const volid = s.volid(volname);
  const newName = zfsBaseName(v.name);
  const newVolname = v.baseVolname ? `${v.baseVolname}/${newName}` : newName;
  await withReverter(async (revert) => {
    await renameDataset(s, s.dataset(v.name), s.dataset(newName), volid);
    revert.add(() => renameDataset(s, s.dataset(newName), s.dataset(v.name), volid), 'rename back');
    await createZfsSnapshot(s, newVolname, BASE_SNAPSHOT);
  }, { log: s.ctx.log });
  return newVolname;
}

/**
 * Linked clone for guest `vmid` named `name`: `zfs clone <pool>/<base>@__base__` (or
 * `@<snapshot>`) `<pool>/<name>`; a subvol clone gets the source's refquota (the one recorded
 * on the snapshot when there is one), a zvol clone waits for its device link. Returns
 * `<base>/<name>` for a clone of a base's `__base__`, `<name>` for a clone of a snapshot.
 *
 * @throws NotFoundError (kind `volume` or `snapshot`), AlreadyExistsError, InvalidArgumentError
 *   (name does not fit the format/guest).
 */
export async function cloneZfsVolume(s: ZfsSession, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
  const v = parseZfsVolname(volname);
  const volid = s.volid(volname);
  const target = checkNewName(options.name, v.format, options.vmid);
  const snapshot = options.snapshot ?? BASE_SNAPSHOT;
  const source = `${s.dataset(v.name)}@${snapshot}`;
  let refquotaBytes: number | undefined;
  if (v.format === 'subvol') {
    const recorded = await s.get([REFQUOTA_USER_PROPERTY], [source]).catch((err: unknown) => s.fail(err, { volid, snapshot }));
    refquotaBytes = zfsNumber(recorded.get(source)?.get(REFQUOTA_USER_PROPERTY));
    if (refquotaBytes === undefined) refquotaBytes = zfsNumber((await datasetProps(s, v.name, volid, ['refquota'])).get('refquota'));
  }
  const ds = s.dataset(target.name);
  try {
    await s.run(ZfsCommands.clone(source, ds, { refquotaBytes }));
  } catch (err) {
    if (zfsFailure(err) === 'exists') s.fail(err, { volid: s.volid(target.name) });
    s.fail(err, { volid, snapshot });
  }
  try {
    if (v.format === 'subvol') await ensureMounted(s, target.name, s.volid(target.name));
    else await waitForZvol(s, target.name);
  } catch (err) {
    await destroyQuietly(s, ds);
    throw err;
  }
  return options.snapshot === undefined ? `${v.name}/${target.name}` : target.name;
}
