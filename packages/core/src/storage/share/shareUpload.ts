import type { Readable } from 'node:stream';
import { AlreadyExistsError, InvalidArgumentError } from '../../errors.js';
import { UPLOAD_FILE_RULES } from '../fileStorageContent.js';
import { writeNewFile } from '../writeNewFile.js';
import type { StorageContent } from '../../contracts/storage.js';
import { volidOf, type ShareContext } from './ShareContext.js';
import { mapShareError } from './shareErrors.js';
import { parseShareVolname } from './shareVolname.js';

/**
 * Stores `stream` as `<content dir>/<filename>` on the mount (iso, vztmpl, backup, snippets, import);
 * returns the volname (`iso/x.iso`). Written through core's `writeNewFile`: a hidden
 * temporary file hard-linked into place, so a reader never sees half a file and an existing
 * file is never replaced.
 *
 * @throws InvalidArgumentError (content, or a file name that does not fit it), AlreadyExistsError, StorageFullError.
 */
export async function uploadShareFile(nc: ShareContext, options: { content: StorageContent; filename: string; stream: Readable }): Promise<string> {
  const rule = UPLOAD_FILE_RULES[options.content];
  if (!rule) throw new InvalidArgumentError('content', `upload stores iso, vztmpl, backup, snippets or import files, not '${options.content}'`);
  if (!rule.re.test(options.filename)) throw new InvalidArgumentError('filename', `'${options.filename}' is not a valid ${options.content} file name (${rule.what})`);
  const volname = `${options.content}/${options.filename}`;
  try {
    parseShareVolname(volname);
  } catch (err) {
    throw new InvalidArgumentError('filename', `'${options.filename}' is not a valid ${options.content} file name: ${(err as Error).message}`, { cause: err });
  }
  try {
    await writeNewFile(nc.layout.contentDir(options.content), options.filename, options.stream, { signal: nc.signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError('volume', volidOf(nc, volname));
    throw await mapShareError(err, { storage: nc.sid, path: nc.options.path });
  }
  return volname;
}
