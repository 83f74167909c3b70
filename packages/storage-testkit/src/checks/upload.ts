import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { ErrorCodes, type StorageContent } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { bufferStream } from '../streams.js';
import { notApplicable } from './allocation.js';

const FILES: ReadonlyArray<{ content: StorageContent; suffix: string }> = [
  { content: 'iso', suffix: '.iso' },
  { content: 'vztmpl', suffix: '.tar.gz' },
  { content: 'snippets', suffix: '.yaml' },
];

/** Upload of plain files for each file content the storage holds: listed, sized, readable, freeable. */
export async function checkUpload(env: ConformanceEnv): Promise<void> {
  const { t, storage, sid } = env;
  const files = FILES.filter((f) => env.def.content.includes(f.content));
  if (files.length === 0) return notApplicable(env, 'the storage holds no iso, vztmpl or snippets content', true);
  for (const { content, suffix } of files) {
    const filename = `conformance-${randomBytes(4).toString('hex')}${suffix}`;
    const data = randomBytes(300_000);
    const volid = await storage.upload({ storage: sid, content, filename, stream: bufferStream(data, 65536) });
    t.is(volid, `${sid}:${content}/${filename}`, `${content}: volid of an uploaded file`);
    const listed = await storage.listVolumes(sid, { content });
    const entry = listed.find((v) => v.volid === volid);
    t.truthy(entry, `${content}: the upload is listed`);
    t.is(entry?.content, content);
    t.is((await storage.volumeInfo(volid)).sizeBytes, data.length, `${content}: size of the upload`);
    const access = await env.access(volid);
    if (access.kind === 'file') t.true((await readFile(access.path)).equals(data), `${content}: the uploaded bytes`);
    await env.release(volid);
    await t.throwsAsync(
      storage.upload({ storage: sid, content, filename, stream: bufferStream(data) }),
      { code: ErrorCodes.alreadyExists },
      `${content}: uploading over an existing file`,
    );
    await storage.free(volid);
    t.false((await storage.listVolumes(sid, { content })).some((v) => v.volid === volid), `${content}: freed upload is gone`);
    await t.throwsAsync(
      storage.upload({ storage: sid, content, filename: `../escape${suffix}`, stream: bufferStream(data) }),
      { code: ErrorCodes.invalidArgument },
      `${content}: a file name with a path`,
    );
  }
  await t.throwsAsync(
    storage.upload({ storage: sid, content: 'images', filename: 'x.raw', stream: bufferStream(Buffer.alloc(1)) }),
    { code: ErrorCodes.invalidArgument },
    'images cannot be uploaded as files',
  );
}
