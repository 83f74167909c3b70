/**
 * Templates and linked clones of rbd images, as Proxmox's RBDPlugin: a template is the image
 * renamed `vm-`→`base-` with a protected snapshot `__base__`; a linked clone is `rbd clone` of
 * that snapshot (volname `base-X/vm-Y`) or of any snapshot, protected first (volname `vm-Y`).
 * A missing template or snapshot is `NotFoundError` (kind `snapshot`).
 *
 * @packageDocumentation
 */
import { InvalidStateError, withReverter } from '@corral/core';
import { rbdFailure } from './rbdErrors.js';
import { parseRbdVolname, rbdBaseName } from './rbdVolname.js';
import { BASE_SNAPSHOT, checkNewName, rbdImageInfo } from './rbdVolumes.js';
import { unmapAll } from './rbdKrbd.js';
import type { RbdSession } from './RbdSession.js';

/**
 * Turns an image into a template: checks it is format 2 (and, for a linked clone, that its
 * parent is the named base), renames it to `base-...`, takes and protects `__base__`. Every
 * step is undone when a later one fails. Returns the new volname.
 *
 * @throws NotFoundError, AlreadyExistsError (base name taken), InvalidStateError (format 1 or
 *   wrong parent).
 */
export async function createRbdBase(s: RbdSession, volname: string): Promise<string> {
  const v = parseRbdVolname(volname);
  if (v.isBase) return volname;
  const volid = s.volid(volname);
  const info = await rbdImageInfo(s, v);
  if (info.format !== 2) throw new InvalidStateError(`format ${info.format}`, `${volid}: only rbd images of format 2 can become templates`);
  if (v.baseVolname && (info.parent?.image !== v.baseVolname || info.parent.snapshot !== BASE_SNAPSHOT)) {
    throw new InvalidStateError('parent', `${volid}: the image's parent is ${info.parent ? `${info.parent.image}@${info.parent.snapshot}` : 'none'}, not ${v.baseVolname}@${BASE_SNAPSHOT}`);
  }
  const newName = rbdBaseName(v.name);
  const newVolname = v.baseVolname ? `${v.baseVolname}/${newName}` : newName;
  const newVolid = s.volid(newVolname);
  await withReverter(async (revert) => {
    await s.run(s.cmd.rename(v.name, newName), { volid: newVolid });
    revert.add(() => s.run(s.cmd.rename(newName, v.name)), 'rename back');
    await unmapAll(s, v.name).catch((err: unknown) => s.ctx.log.warn(`${volid}: unmap after rename failed: ${(err as Error).message}`));
    await s.run(s.cmd.snapCreate(newName, BASE_SNAPSHOT), { volid: newVolid, snapshot: BASE_SNAPSHOT });
    revert.add(() => s.run(s.cmd.snapRemove(newName, BASE_SNAPSHOT)), 'remove __base__');
    await s.run(s.cmd.snapProtect(newName, BASE_SNAPSHOT), { volid: newVolid, snapshot: BASE_SNAPSHOT });
  }, { log: s.ctx.log });
  return newVolname;
}

/**
 * Linked clone named `name` of `<image>@__base__` (a template) or of `<image>@<snapshot>`
 * (protected first when it is not). Returns `<base>/<name>` for a template clone, `<name>`
 * for a snapshot clone.
 *
 * @throws NotFoundError (image or snapshot), AlreadyExistsError, InvalidArgumentError (name).
 */
export async function cloneRbdVolume(s: RbdSession, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
  const v = parseRbdVolname(volname);
  const volid = s.volid(volname);
  const target = checkNewName(options.name, 'raw', options.vmid);
  const snapshot = options.snapshot ?? BASE_SNAPSHOT;
  // As Proxmox: a template's __base__ was protected by createBase; a snapshot is protected here.
  if (options.snapshot !== undefined) {
    const snapInfo = await rbdImageInfo(s, v, snapshot);
    if (!snapInfo.protected) await s.run(s.cmd.snapProtect(v.name, snapshot), { volid, snapshot });
  }
  try {
    await s.exec(s.cmd.clone(v.name, snapshot, target.name, s.opts.dataPool));
  } catch (err) {
    // A taken name is the target's; a missing image or snapshot is the source's.
    s.fail(err, rbdFailure(err) === 'exists' ? { volid: s.volid(target.name) } : { volid, snapshot });
  }
  return options.snapshot === undefined ? `${v.name}/${target.name}` : target.name;
}
