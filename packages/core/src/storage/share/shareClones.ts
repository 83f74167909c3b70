import { chmod, rename } from 'node:fs/promises';
import { AlreadyExistsError, InvalidArgumentError } from '../../errors.js';
import { withReverter } from '../../util/Reverter.js';
import { volidOf, type ShareContext } from './ShareContext.js';
import { mapShareError } from './shareErrors.js';
import { claimNewImage, exists, existingImage, shareImageFileName, QEMU_IMG_TIMEOUT_MS } from './shareImages.js';
import { shareImageVolname } from './shareVolname.js';

/**
 * Turns an image into a template base, as pve's `create_base` for file storages: the file is
 * renamed `vm-…` → `base-…` (other names get a `base-` prefix) and made read-only (0444).
 * A base is returned unchanged. Returns the new volname.
 *
 * @throws NotFoundError; AlreadyExistsError when the base name is taken.
 */
export async function createShareBase(nc: ShareContext, volname: string): Promise<string> {
  const v = await existingImage(nc, volname);
  if (v.isBase) return volname;
  const newName = v.name.startsWith('vm-') ? `base-${v.name.slice(3)}` : `base-${v.name}`;
  const target = { ...v, name: newName, isBase: true };
  const newVolname = shareImageVolname(target);
  const from = nc.layout.pathOf(v);
  const to = nc.layout.pathOf(target);
  if (await exists(to)) throw new AlreadyExistsError('volume', volidOf(nc, newVolname));
  return withReverter(async (revert) => {
    await rename(from, to);
    revert.add(() => rename(to, from), 'rename back');
    await chmod(to, 0o444);
    return newVolname;
  });
}

/**
 * Creates a linked clone of a base for guest `vmid`: a qcow2 overlay
 * `images/<vmid>/<name>.qcow2` whose backing file is `../<basevmid>/<basefile>` (relative, as
 * Proxmox writes it, so it resolves on the mount and through `nfs://` alike). Returns
 * `<basevmid>/<basefile>/<vmid>/<name>.qcow2`.
 *
 * @throws NotFoundError; InvalidArgumentError when the source is not a base; AlreadyExistsError.
 */
export async function cloneShareLinked(nc: ShareContext, volname: string, options: { vmid: number; name: string }): Promise<string> {
  const base = await existingImage(nc, volname);
  if (!base.isBase) throw new InvalidArgumentError('volname', `'${volidOf(nc, volname)}' is not a base; linked clones are made from templates`);
  const file = shareImageFileName(options.name, 'qcow2');
  const newVolname = shareImageVolname({
    vmid: options.vmid,
    name: file,
    base: { vmid: base.vmid!, name: base.name },
  });
  return withReverter(async (revert) => {
    const { path } = await claimNewImage(nc, revert, options.vmid, file);
    try {
      await nc.runner.run(['qemu-img', 'create', '-b', `../${base.vmid}/${base.name}`, '-F', base.format, '-f', 'qcow2', path], {
        timeoutMs: QEMU_IMG_TIMEOUT_MS,
        signal: nc.signal,
      });
    } catch (err) {
      throw await mapShareError(err, { storage: nc.sid, path: nc.options.path });
    }
    return newVolname;
  });
}
