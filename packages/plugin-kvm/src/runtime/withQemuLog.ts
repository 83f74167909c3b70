import { open } from 'node:fs/promises';
import { CommandFailedError } from '@corral/core';

/** Most bytes of the QEMU log added to an error (its end). */
const LOG_TAIL_BYTES = 16 * 1024;

/** The last `maxBytes` of `path` as UTF-8 ('' when missing). */
export async function readLogTail(path: string, maxBytes = LOG_TAIL_BYTES): Promise<string> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await fh.stat();
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, size - length);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * A daemonizing QEMU started with `-D <log>` writes its start-up errors ("'x' is not a valid
 * device model name") to the log, not to the stderr the runner captured. Returns `err` with
 * the log's end appended to its stderr when it is a `CommandFailedError`, so the error still
 * says why QEMU refused; any other error unchanged.
 */
export async function withQemuLog(err: unknown, logPath: string): Promise<unknown> {
  if (!(err instanceof CommandFailedError)) return err;
  const log = (await readLogTail(logPath)).trim();
  if (!log || err.stderr.includes(log)) return err;
  return new CommandFailedError(err.argv, err.exitCode, [err.stderr.trim(), `${logPath}:`, log].filter(Boolean).join('\n'), err.signal, { cause: err });
}
