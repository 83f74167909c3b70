import { QmpClient } from '../qmp/QmpClient.js';

/** Default time to connect to a running VM's QMP socket, ms. */
export const QMP_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects to the QMP socket at `path`, runs `fn` and closes the connection, also when `fn`
 * throws. QEMU serves one client per QMP socket: callers hold the guest lock (the facade's)
 * so operations never compete; `status` uses the VM's second socket.
 */
export async function withQmp<T>(path: string, fn: (qmp: QmpClient) => Promise<T>, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const qmp = await QmpClient.connect(path, { timeoutMs: options.timeoutMs ?? QMP_CONNECT_TIMEOUT_MS, signal: options.signal });
  try {
    return await fn(qmp);
  } finally {
    await qmp.close();
  }
}
