import { InvalidVolumeIdError } from '../errors.js';

/** Storage ids as Proxmox allows them: a letter, then letters, digits, `-`, `_`, `.`, ending alphanumeric. */
export const STORAGE_ID_PATTERN = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;

/** A volume id split into its storage and volume name. */
export interface VolumeId {
  readonly storage: string;
  readonly volname: string;
}

/**
 * Splits `storeid:volname` and rejects what could escape a storage: an empty or invalid
 * storage id, an empty name, a NUL, a backslash, an absolute path, or a `.`/`..`/empty path
 * segment. Throws `InvalidVolumeIdError` naming the problem. Whether the name belongs to the
 * storage's type is for its driver's `parseVolname` to say.
 */
export function parseVolumeId(volid: string): VolumeId {
  if (typeof volid !== 'string') throw new InvalidVolumeIdError(String(volid), 'not a string');
  const colon = volid.indexOf(':');
  if (colon < 0) throw new InvalidVolumeIdError(volid, "expected 'storeid:volname'");
  const storage = volid.slice(0, colon);
  const volname = volid.slice(colon + 1);
  if (!STORAGE_ID_PATTERN.test(storage)) throw new InvalidVolumeIdError(volid, `'${storage}' is not a valid storage id`);
  checkVolname(volid, volname);
  return { storage, volname };
}

/** Checks a bare volume name (the part after `storeid:`) the same way. */
export function checkVolname(volid: string, volname: string): void {
  if (volname.length === 0) throw new InvalidVolumeIdError(volid, 'empty volume name');
  if (volname.includes('\0')) throw new InvalidVolumeIdError(volid, 'contains a NUL byte');
  if (volname.includes('\\')) throw new InvalidVolumeIdError(volid, 'contains a backslash');
  if (volname.startsWith('/')) throw new InvalidVolumeIdError(volid, 'absolute paths are not volume names');
  for (const segment of volname.split('/')) {
    if (segment === '..' || segment === '.') throw new InvalidVolumeIdError(volid, `path traversal ('${segment}') is not allowed`);
    if (segment === '') throw new InvalidVolumeIdError(volid, 'empty path segment');
  }
}

/** Joins a storage id and a volume name. */
export function formatVolumeId(storage: string, volname: string): string {
  return `${storage}:${volname}`;
}
