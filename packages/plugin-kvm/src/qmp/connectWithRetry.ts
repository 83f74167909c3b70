import { ErrorCodes, TimeoutError, isCorralError } from '@corral/core';
import { NOT_LISTENING_CODES } from './JsonLineConnection.js';
import { QmpClient, type QmpConnectOptions } from './QmpClient.js';
import { delay } from './waitFor.js';

/** Default time {@link connectWithRetry} keeps trying: 10 s. */
export const DEFAULT_QMP_RETRY_TIMEOUT_MS = 10_000;

/** Options of {@link connectWithRetry}. */
export interface QmpRetryOptions extends QmpConnectOptions {
  /** Milliseconds between attempts while the socket is missing or refuses. Default 50. */
  intervalMs?: number;
  /**
   * Called before each retry; return false to give up at once (for instance when the QEMU
   * process already exited). The last connect error is then thrown.
   */
  shouldRetry?: () => boolean;
}

/**
 * Connects to the QMP socket of a QEMU process that was just spawned: retries while the
 * socket does not exist yet or refuses connections (QEMU creates it about 0.2 s after the
 * spawn), then behaves like {@link QmpClient.connect}.
 *
 * `timeoutMs` (default {@link DEFAULT_QMP_RETRY_TIMEOUT_MS}) bounds everything. Rejects with
 * `TimeoutError` (cause: the last connect error) when the socket never answered,
 * `ProtocolError` when the peer is not QMP, `AbortedError` on `signal`, or the last
 * `UnavailableError` when `shouldRetry` returned false.
 */
export async function connectWithRetry(path: string, options: QmpRetryOptions = {}): Promise<QmpClient> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_QMP_RETRY_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await QmpClient.connect(path, { ...options, timeoutMs: Math.max(1, deadline - Date.now()) });
    } catch (error) {
      if (!isNotListening(error)) throw error;
      if (options.shouldRetry && !options.shouldRetry()) throw error;
      if (Date.now() + intervalMs >= deadline) {
        throw new TimeoutError(`QMP socket ${path} to accept connections`, timeoutMs, { cause: error });
      }
      await delay(intervalMs, options.signal);
    }
  }
}

/** True for the `UnavailableError` of a socket that does not exist (yet) or refuses. */
function isNotListening(error: unknown): boolean {
  if (!isCorralError(error, ErrorCodes.unavailable)) return false;
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && NOT_LISTENING_CODES.has(code);
}
