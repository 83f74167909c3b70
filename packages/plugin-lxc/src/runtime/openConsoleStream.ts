/**
 * A container console as a byte stream: `lxc-console` run with pipes (it needs no terminal),
 * its stdin and stdout joined into one Duplex.
 *
 * @packageDocumentation
 */
import { Duplex, PassThrough } from 'node:stream';
import type { CommandRunner } from '@corral/core';

/** How long a closed console may take to exit before it is killed, ms. */
const CLOSE_GRACE_MS = 2000;

/**
 * Runs `argv` (an `lxc-console` command line) and returns its stdin+stdout as a Duplex.
 * Ending or destroying the stream closes `lxc-console`'s stdin, which detaches it (it is
 * killed if it has not exited within 2 s); the stream ends when `lxc-console` exits.
 */
export function openConsoleStream(runner: CommandRunner, argv: readonly string[]): Duplex {
  const input = new PassThrough();
  const output = new PassThrough();
  const kill = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const done = runner
    .run(argv, { stdinStream: input, stdoutStream: output, okExitCodes: Array.from({ length: 256 }, (_, i) => i), signal: kill.signal, cwd: '/' })
    .catch(() => undefined)
    .finally(() => {
      if (timer) clearTimeout(timer);
      if (!output.writableEnded) output.end();
    });
  const stream = Duplex.from({ readable: output, writable: input });
  stream.once('close', () => {
    if (!input.writableEnded) input.end();
    timer = setTimeout(() => kill.abort(), CLOSE_GRACE_MS);
    timer.unref();
  });
  void done;
  return stream;
}
