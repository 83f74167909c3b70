import { InvalidArgumentError, type VolumeFormat } from '@corral/core';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
const EXT = /\.(raw|qcow2|vmdk|subvol)$/;

/**
 * The file name for a new image or subvol named `name` (`vm-100-disk-0` gives
 * `vm-100-disk-0.qcow2`; a name that already ends in the format's extension is kept).
 * Refuses names with path characters or whitespace, an extension of another format
 * (pve's "wrong extension for format"), and `base-` names, which only `createBase` makes.
 *
 * @throws InvalidArgumentError (argument `name`).
 */
export function imageFileName(name: string, format: VolumeFormat): string {
  if (!NAME.test(name) || name.length > 200) {
    throw new InvalidArgumentError('name', `invalid volume name '${name}': letters, digits, '_', '.', '+', '-' (not first), at most 200`);
  }
  if (!['raw', 'qcow2', 'vmdk', 'subvol'].includes(format)) {
    throw new InvalidArgumentError('format', `dir storage cannot hold format '${format}'`);
  }
  const m = EXT.exec(name);
  if (m && m[1] !== format) throw new InvalidArgumentError('name', `illegal name '${name}': wrong extension for format ('${m[1]}' != '${format}')`);
  if (name.startsWith('base-')) throw new InvalidArgumentError('name', `'${name}': base- names are made by createBase`);
  return m ? name : `${name}.${format}`;
}
