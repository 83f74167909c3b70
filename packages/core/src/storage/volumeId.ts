import { InvalidVolumeIdError } from '../errors.js';
import { forbiddenCharProblem } from '../formats/configText.js';

/** The longest volume id accepted: Linux's `PATH_MAX` (a volume name becomes a path). */
export const MAX_VOLUME_ID_LENGTH = 4096;

/** Storage ids as Proxmox allows them: a letter, then letters, digits, `-`, `_`, `.`, ending alphanumeric. */
export const STORAGE_ID_PATTERN = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;

/** A volume id split into its storage and volume name. */
export interface VolumeId {
  readonly storage: string;
  readonly volname: string;
}

/**
 * Splits `storeid:volname` and rejects what could escape a storage or break the config line
 * holding the id: an empty or invalid storage id, an empty name, a control character (tab,
 * CR, LF, NUL...), U+2028/U+2029 or an unpaired surrogate, white space at either end, a
 * backslash, an absolute path, a `.`/`..`/empty path segment, or more than
 * {@link MAX_VOLUME_ID_LENGTH} characters. Throws `InvalidVolumeIdError` naming the problem.
 * Whether the name belongs to the storage's type is for its driver's `parseVolname` to say.
 */
export function parseVolumeId(volid: string): VolumeId {
  if (typeof volid !== 'string') throw new InvalidVolumeIdError(String(volid), 'not a string');
  if (volid.length > MAX_VOLUME_ID_LENGTH) throw new InvalidVolumeIdError(volid.slice(0, 64) + '…', `longer than ${MAX_VOLUME_ID_LENGTH} characters`);
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
  if (typeof volname !== 'string') throw new InvalidVolumeIdError(String(volid), 'the volume name is not a string');
  if (volname.length === 0) throw new InvalidVolumeIdError(volid, 'empty volume name');
  if (volname.length > MAX_VOLUME_ID_LENGTH) throw new InvalidVolumeIdError(volid.slice(0, 64) + '…', `longer than ${MAX_VOLUME_ID_LENGTH} characters`);
  const bad = forbiddenCharProblem(volname, { tab: false });
  if (bad) throw new InvalidVolumeIdError(volid, bad);
  if (volname.trim() !== volname) throw new InvalidVolumeIdError(volid, 'white space at the start or end of the volume name');
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
