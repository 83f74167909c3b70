import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { AlreadyExistsError, InvalidArgumentError, UPLOAD_FILE_RULES, writeNewFile, type StorageContent } from '@corral/core';
import { volidOf, type DirContext } from './DirContext.js';
import { mapStorageError } from './storageErrors.js';

/**
 * Stores `stream` as `<content dir>/<filename>` (core's `writeNewFile`: a hidden temporary
 * file hard-linked into place, so a reader never sees half a file and an existing file is
 * never replaced). File names follow Proxmox's upload rules (core's `UPLOAD_FILE_RULES`).
 * Returns the volname (`iso/<filename>`...).
 *
 * @throws InvalidArgumentError (content, file name extension), AlreadyExistsError, StorageFullError.
 */
export async function uploadDirFile(dc: DirContext, options: { content: StorageContent; filename: string; stream: Readable }): Promise<string> {
  const rule = UPLOAD_FILE_RULES[options.content];
  if (!rule) throw new InvalidArgumentError('content', `dir storage takes uploads of iso, vztmpl, backup, snippets and import, not '${options.content}'`);
  if (options.filename.includes('/') || options.filename.startsWith('.') || !rule.re.test(options.filename)) {
    throw new InvalidArgumentError('filename', `'${options.filename}' is not a valid ${options.content} file name (${rule.what})`);
  }
  const volname = `${options.content}/${options.filename}`;
  const dir = dc.layout.contentDir(options.content);
  if (await stat(join(dir, options.filename)).then(() => true, () => false)) throw new AlreadyExistsError('volume', volidOf(dc, volname));
  try {
    await writeNewFile(dir, options.filename, options.stream, { signal: dc.signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError('volume', volidOf(dc, volname));
    throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root });
  }
  return volname;
}
