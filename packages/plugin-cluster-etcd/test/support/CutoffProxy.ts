import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder on 127.0.0.1 in front of one etcd member, so a test can cut one client
 * off the cluster (a network partition of that client alone) while other clients keep
 * talking to etcd directly.
 */
export class CutoffProxy {
  readonly #sockets = new Set<Socket>();
  #cut = false;

  private constructor(private readonly server: Server, readonly url: string) {}

  /** Starts forwarding a free local port to `target` (`http://127.0.0.1:port`). */
  static async start(target: string): Promise<CutoffProxy> {
    const { hostname, port } = new URL(target);
    let proxy: CutoffProxy | undefined;
    const server = createServer((client) => {
      if (!proxy || proxy.#cut) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(port), hostname);
      for (const s of [client, upstream]) {
        proxy.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => proxy!.#sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const addr = server.address() as import('node:net').AddressInfo;
    proxy = new CutoffProxy(server, `http://127.0.0.1:${addr.port}`);
    return proxy;
  }

  /** Drops every connection and refuses new ones until {@link CutoffProxy.restore}. */
  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  /** Accepts connections again. */
  restore(): void {
    this.#cut = false;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
