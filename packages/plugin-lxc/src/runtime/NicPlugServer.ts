/**
 * The kernel's end of the LXC start hook that plugs a container's NICs (see
 * `startHostHook`): during `lxc-start`, LXC runs the hook in the host's namespaces after it
 * created the veths and before the container's init runs; the hook connects to this server's
 * unix socket, and the server plugs every NIC through `ctx.network` (with the plugins' hooks)
 * and answers `ok` or `error <message>`. So a container has network from its first
 * instruction.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Longest unix socket path that fits `sun_path` with room to spare. */
const MAX_SOCKET_PATH = 100;

/**
 * The socket of a container's plug server: `<run dir>/nic-plug.sock`, or, when that path is
 * too long for a unix socket, one in the temp dir named after a hash of the run dir.
 */
export function nicPlugSocketPath(dir: string): string {
  const path = join(dir, 'nic-plug.sock');
  return path.length <= MAX_SOCKET_PATH ? path : join(tmpdir(), `corral-nic-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}.sock`);
}

/** A listening plug server for one start. */
export class NicPlugServer {
  /** The error of the last plug the hook asked for (the start then fails with it). */
  error: Error | undefined;
  /** How many times the hook asked (one per start or LXC-driven restart). */
  served = 0;

  private constructor(
    readonly socketPath: string,
    readonly server: Server,
  ) {}

  /** Listens on `socketPath` ({@link nicPlugSocketPath}) and calls `plug` for each hook connection. */
  static async listen(socketPath: string, plug: () => Promise<void>): Promise<NicPlugServer> {
    await rm(socketPath, { force: true });
    let self: NicPlugServer | undefined;
    const server = createServer((conn) => {
      conn.on('error', () => undefined);
      const s = self!;
      s.served += 1;
      plug().then(
        () => conn.end('ok\n'),
        (err: Error) => {
          s.error = err;
          conn.end(`error ${err.message.replace(/\n/g, ' ')}\n`);
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    self = new NicPlugServer(socketPath, server);
    return self;
  }

  /** Stops listening and removes the socket. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }
}
