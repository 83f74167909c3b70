import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AlreadyExistsError, InvalidArgumentError, type StorageContent } from '@corral/core';
import { volidOf, type ShareContext } from './ShareContext.js';
import { mapShareError } from './shareErrors.js';
import { parseShareVolname } from './shareVolname.js';

/**
 * Stores `stream` as `<content dir>/<filename>` on the mount (iso, vztmpl, backup, snippets);
 * returns the volname (`iso/x.iso`). The file is written exclusively (never overwrites) and
 * removed again when the stream fails.
 *
 * @throws InvalidArgumentError (content, or a file name that does not fit it), AlreadyExistsError, StorageFullError.
 */
export async function uploadShareFile(nc: ShareContext, options: { content: StorageContent; filename: string; stream: Readable }): Promise<string> {
  if (options.content === 'images' || options.content === 'rootdir')
    throw new InvalidArgumentError('content', `upload stores iso, vztmpl, backup or snippets files, not '${options.content}'`);
  const volname = `${options.content}/${options.filename}`;
  let v;
  try {
    v = parseShareVolname(volname);
  } catch (err) {
    throw new InvalidArgumentError('filename', `'${options.filename}' is not a valid ${options.content} file name: ${(err as Error).message}`, { cause: err });
  }
  const path = nc.layout.pathOf(v);
  await mkdir(nc.layout.contentDir(options.content), { recursive: true });
  try {
    await pipeline(options.stream, createWriteStream(path, { flags: 'wx' }), {
      signal: nc.signal,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError('volume', volidOf(nc, volname));
    await rm(path, { force: true });
    throw await mapShareError(err, { storage: nc.sid, path: nc.options.path });
  }
  return volname;
}
