import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CorralError, TimeoutError, UnavailableError, type CommandRunner, type RunResult } from '@corral/core';
import { NbdClient } from './NbdClient.js';

/** Options of {@link withNbdExport}. */
export interface NbdExportOptions {
  /** Image file (absolute path). */
  readonly path: string;
  /** Its format (`qcow2`, `vmdk`, `raw`). */
  readonly format: string;
  /** Export read-only. */
  readonly readOnly: boolean;
  /** Export this internal snapshot (read-only). */
  readonly snapshot?: string;
  /** A directory for the socket (falls back to the OS temp dir when the path would be too long for a unix socket). */
  readonly socketDir: string;
  readonly signal?: AbortSignal;
}

/** How long qemu-nbd may take to open the image and listen, ms. */
const START_TIMEOUT_MS = 20_000;
/** How long qemu-nbd may take to exit after the client disconnected, ms. */
const EXIT_TIMEOUT_MS = 10_000;
/** sun_path holds 108 bytes; keep a margin. */
const MAX_SOCKET_PATH = 100;

/**
 * Serves `options.path` with `qemu-nbd` (through the CommandRunner, argv only) on a private
 * unix socket, connects an {@link NbdClient} and runs `fn` with it. qemu-nbd runs without
 * `--persistent`, so it exits when the client disconnects; on any failure it is killed.
 * The image is locked by qemu-nbd meanwhile (a running guest's image cannot be exported).
 */
export async function withNbdExport<T>(runner: CommandRunner, options: NbdExportOptions, fn: (client: NbdClient) => Promise<T>): Promise<T> {
  const base = join(options.socketDir, 'nbd-XXXXXX/s').length <= MAX_SOCKET_PATH ? options.socketDir : tmpdir();
  const dir = await mkdtemp(join(base, 'nbd-'));
  const socket = join(dir, 's');
  const argv = ['qemu-nbd', '--socket', socket, '--format', options.format, '--shared', '1'];
  if (options.readOnly || options.snapshot) argv.push('--read-only');
  if (options.snapshot) argv.push('--load-snapshot', `snapshot.name=${options.snapshot}`);
  argv.push(options.path);

  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let settled = undefined as { ok: RunResult } | { err: unknown } | undefined;
  const running = runner.run(argv, { signal: stop.signal }).then(
    (ok) => (settled = { ok }),
    (err: unknown) => (settled = { err }),
  );
  let client: NbdClient | undefined;
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    // The socket file appears when qemu-nbd binds, a moment before it listens: a connection
    // refused then is retried until it accepts, exits or the deadline passes.
    for (;;) {
      if (settled) throw 'err' in settled ? settled.err : new UnavailableError('qemu-nbd', `qemu-nbd exited before serving ${options.path}`);
      if (await stat(socket).then(() => true, () => false)) {
        try {
          client = await NbdClient.connect(socket);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (err instanceof CorralError) throw err;
          if (code !== 'ECONNREFUSED' && code !== 'ENOENT') throw new UnavailableError('qemu-nbd', `cannot connect to qemu-nbd on ${socket}: ${(err as Error).message}`, { cause: err });
        }
      }
      if (Date.now() > deadline) throw new TimeoutError(`qemu-nbd to listen on ${socket}`, START_TIMEOUT_MS);
      await sleep(10);
    }
    const out = await fn(client);
    await client.disconnect();
    client = undefined;
    const exitDeadline = Date.now() + EXIT_TIMEOUT_MS;
    while (!settled && Date.now() < exitDeadline) await sleep(10);
    const end = settled as { ok: RunResult } | { err: unknown } | undefined;
    if (end && 'err' in end) throw end.err;
    return out;
  } finally {
    client?.destroy();
    if (!settled) {
      stop.abort();
      await running;
    }
    options.signal?.removeEventListener('abort', onOuterAbort);
    await rm(dir, { recursive: true, force: true });
  }
}
