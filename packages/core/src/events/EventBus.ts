import { EventEmitter } from 'node:events';
// typed-emitter is CommonJS: under NodeNext its default export is the `default` member.
import type TypedEmitterModule from 'typed-emitter';
import type { CorralEvents } from './CorralEvents.js';
import { silentLogger, type Logger } from '../util/Logger.js';

type TypedEmitter<M extends TypedEmitterModule.EventMap> = TypedEmitterModule.default<M>;

/** {@link CorralEvents} as the index-signature map `typed-emitter` wants. */
type CorralEventMap = { [E in keyof CorralEvents]: CorralEvents[E] };

/** A listener of any event (see {@link EventBus.onAny}). */
export type AnyEventListener = <E extends keyof CorralEvents>(event: E, payload: Parameters<CorralEvents[E]>[0]) => void;

/**
 * The kernel's typed event bus: core and plugins subscribe to and emit {@link CorralEvents}.
 *
 * Delivery is synchronous, in subscription order, on the emitter's call stack. A listener that
 * throws is logged (with the event name) and skipped: it never breaks the emitter (a task) or
 * the other listeners. There is no replay: subscribe before the events you need.
 */
export class EventBus {
  readonly #emitter = new EventEmitter() as unknown as TypedEmitter<CorralEventMap>;
  readonly #logger: Logger;
  readonly #any = new Set<AnyEventListener>();

  constructor(options: { logger?: Logger } = {}) {
    this.#logger = options.logger ?? silentLogger;
    // Many plugins and API clients may listen to one event: no leak warning at 10.
    (this.#emitter as unknown as EventEmitter).setMaxListeners(0);
  }

  /** Subscribes `listener` to `event`; returns the function that unsubscribes it. */
  on<E extends keyof CorralEvents>(event: E, listener: CorralEvents[E]): () => void {
    const wrapped = this.#guard(event, listener);
    this.#emitter.on(event, wrapped);
    return () => {
      this.#emitter.off(event, wrapped);
    };
  }

  /** Like {@link on}, for the next occurrence only. */
  once<E extends keyof CorralEvents>(event: E, listener: CorralEvents[E]): () => void {
    const wrapped = this.#guard(event, listener);
    this.#emitter.once(event, wrapped);
    return () => {
      this.#emitter.off(event, wrapped);
    };
  }

  /** Subscribes to every event (API event streams, audit logs); returns the unsubscribe function. */
  onAny(listener: AnyEventListener): () => void {
    this.#any.add(listener);
    return () => {
      this.#any.delete(listener);
    };
  }

  /** Resolves with the payload of the next `event` for which `filter` (if given) is true. */
  next<E extends keyof CorralEvents>(
    event: E,
    options: { filter?: (payload: Parameters<CorralEvents[E]>[0]) => boolean; signal?: AbortSignal } = {},
  ): Promise<Parameters<CorralEvents[E]>[0]> {
    return new Promise((resolve, reject) => {
      const off = this.on(event, ((payload: Parameters<CorralEvents[E]>[0]) => {
        if (options.filter && !options.filter(payload)) return;
        off();
        options.signal?.removeEventListener('abort', onAbort);
        resolve(payload);
      }) as CorralEvents[E]);
      const onAbort = (): void => {
        off();
        reject(options.signal!.reason);
      };
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Delivers `payload` to the listeners of `event`. Returns true when anyone listened. */
  emit<E extends keyof CorralEvents>(event: E, payload: Parameters<CorralEvents[E]>[0]): boolean {
    let heard = false;
    for (const listener of this.#any) {
      heard = true;
      try {
        listener(event, payload);
      } catch (error) {
        this.#report(event, error);
      }
    }
    const args = [payload] as unknown as Parameters<CorralEventMap[E]>;
    return this.#emitter.emit(event, ...args) || heard;
  }

  /** Unsubscribes every listener of `event`, or of every event (kernel dispose). */
  removeAllListeners(event?: keyof CorralEvents): void {
    if (event === undefined) {
      this.#emitter.removeAllListeners();
      this.#any.clear();
    } else {
      this.#emitter.removeAllListeners(event);
    }
  }

  /** Number of listeners of `event` (not counting {@link onAny} listeners). */
  listenerCount(event: keyof CorralEvents): number {
    return this.#emitter.listenerCount(event);
  }

  #guard<E extends keyof CorralEvents>(event: E, listener: CorralEvents[E]): CorralEvents[E] {
    const fn = listener as (payload: unknown) => void;
    return ((payload: unknown) => {
      try {
        fn(payload);
      } catch (error) {
        this.#report(event, error);
      }
    }) as CorralEvents[E];
  }

  #report(event: string, error: unknown): void {
    this.#logger.error(`listener of '${event}' threw`, {
      event,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
