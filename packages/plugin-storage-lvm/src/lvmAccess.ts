/**
 * How consumers reach lvm/lvmthin volumes: the LV's device node `/dev/<vg>/<lv>` after
 * activation (lvm: `lvchange -aey` + `--refresh`, as Proxmox's LVMPlugin; lvmthin:
 * `lvchange -ay -K` unless the LV is active already, as LvmThinPlugin).
 *
 * @packageDocumentation
 */
import { access } from 'node:fs/promises';
import { NotFoundError, NotSupportedError, UnavailableError, type VolumeAccess, type VolumeConsumer } from '@corral/core';
import { LvmCommands } from './LvmCommands.js';
import { thinSnapshotLv } from './lvmVolname.js';
import { volumeLv } from './lvmVolumes.js';
import type { LvmSession } from './LvmSession.js';

/**
 * Activates the LV of a volume (or, on lvmthin, of one of its snapshots) and returns its
 * device path.
 *
 * @throws NotFoundError (volume or snapshot), UnavailableError (no device node after
 *   activation: a kernel without device-mapper), NotSupportedError (a snapshot on lvm).
 */
export async function activateLvmVolume(s: LvmSession, volname: string, snapshot?: string): Promise<string> {
  const lv = await volumeLv(s, volname);
  if (snapshot === undefined) return activateLv(s, lv.name, lv.state, s.volid(volname));
  if (s.type === 'lvm') throw new NotSupportedError('resolve', `storage '${s.sid}' (lvm) has no snapshots (${s.volid(volname)}@${snapshot})`);
  const snap = await s.findLv(thinSnapshotLv(volname, snapshot));
  if (!snap) throw new NotFoundError('snapshot', `${s.volid(volname)}@${snapshot}`, `snapshot '${snapshot}' of '${s.volid(volname)}' does not exist`);
  return activateLv(s, snap.name, snap.state, s.volid(volname), snapshot);
}

/**
 * Activates LV `name` whose activation state (fifth `lv_attr` letter) is `state` and returns
 * its device path: lvm always (`-aey`, `--refresh`), lvmthin unless it is active (`-ay -K`).
 *
 * @throws UnavailableError when no device node exists afterwards.
 */
export async function activateLv(s: LvmSession, name: string, state: string, volid: string, snapshot?: string): Promise<string> {
  try {
    if (s.type === 'lvm') {
      await s.run(LvmCommands.activate(s.vg, name, 'exclusive'));
      await s.run(LvmCommands.refresh(s.vg, name));
    } else if (state !== 'a') {
      await s.run(LvmCommands.activate(s.vg, name, 'thin'));
    }
  } catch (err) {
    s.fail(err, { volid, snapshot });
  }
  const path = s.devicePath(name);
  const present = await access(path).then(
    () => true,
    () => false,
  );
  if (!present) {
    throw new UnavailableError(`storage:${s.sid}`, `storage '${s.sid}': no device node '${path}' after activating '${s.vg}/${name}' (does this kernel have device-mapper?)`);
  }
  return path;
}

/** Activates a volume and answers its block device (every consumer gets the device). */
export async function resolveLvmVolume(s: LvmSession, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
  const path = await activateLvmVolume(s, volname, options.snapshot);
  return s.type === 'lvm' ? { kind: 'block', path, format: 'raw', qemuHints: { ioUring: 'never' } } : { kind: 'block', path, format: 'raw' };
}

/**
 * Deactivates what {@link resolveLvmVolume} activated, as Proxmox: lvm `lvchange -aln` when the
 * device node exists; lvmthin only snapshots and bases (`lvchange -an`), other thin LVs stay
 * active.
 */
export async function deactivateLvmVolume(s: LvmSession, volname: string, snapshot?: string): Promise<void> {
  const v = s.parse(volname);
  const name = snapshot !== undefined ? thinSnapshotLv(volname, snapshot) : v.name;
  if (s.type === 'lvmthin' && snapshot === undefined && !v.isBase) return;
  const exists = await access(s.devicePath(name)).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  try {
    await s.run(LvmCommands.deactivate(s.vg, name, s.type === 'lvm' ? 'local' : 'thin'));
  } catch (err) {
    s.fail(err, { volid: s.volid(volname), snapshot });
  }
}
