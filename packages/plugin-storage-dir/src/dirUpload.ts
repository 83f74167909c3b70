import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AlreadyExistsError, InvalidArgumentError, type StorageContent } from '@corral/core';
import { volidOf, type DirContext } from './DirContext.js';
import { BACKUP_FILE_RE, ISO_FILE_RE, VZTMPL_FILE_RE } from './dirVolname.js';
import { mapStorageError } from './storageErrors.js';

const RULES: Partial<Record<StorageContent, { re: RegExp; what: string }>> = {
  iso: { re: ISO_FILE_RE, what: '.iso or .img' },
  vztmpl: { re: VZTMPL_FILE_RE, what: '.tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2' },
  backup: { re: BACKUP_FILE_RE, what: '.vma[.gz|.lzo|.zst|.bz2], .tar[.gz|.lzo|.zst|.bz2] or .tgz' },
  snippets: { re: /^[^/]+$/, what: 'any file name' },
};

/**
 * Stores `stream` as `<content dir>/<filename>`: written to a hidden temporary file in the
 * same directory, then hard-linked into place (so a reader never sees half a file and an
 * existing file is never replaced). Returns the volname (`iso/<filename>`...).
 *
 * @throws InvalidArgumentError (content, file name extension), AlreadyExistsError, StorageFullError.
 */
export async function uploadDirFile(dc: DirContext, options: { content: StorageContent; filename: string; stream: Readable }): Promise<string> {
  const rule = RULES[options.content];
  if (!rule) throw new InvalidArgumentError('content', `dir storage takes uploads of iso, vztmpl, backup and snippets, not '${options.content}'`);
  if (options.filename.includes('/') || options.filename.startsWith('.') || !rule.re.test(options.filename)) {
    throw new InvalidArgumentError('filename', `'${options.filename}' is not a valid ${options.content} file name (${rule.what})`);
  }
  const volname = `${options.content}/${options.filename}`;
  const dir = dc.layout.contentDir(options.content);
  const final = join(dir, options.filename);
  const tmp = join(dir, `.${options.filename}.tmp-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  if (await stat(final).then(() => true, () => false)) throw new AlreadyExistsError('volume', volidOf(dc, volname));
  try {
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
    await (dc.signal ? pipeline(options.stream, out, { signal: dc.signal }) : pipeline(options.stream, out));
    await link(tmp, final);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError('volume', volidOf(dc, volname));
    throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root });
  } finally {
    await rm(tmp, { force: true });
  }
  return volname;
}
