/**
 * Typed references to services and extension points.
 *
 * tsyringe resolves tokens to `unknown`; a {@link ServiceRef} carries the type so call sites
 * never pass bare strings or symbols. Resolve through {@link ServiceRegistry}, never through
 * the container directly.
 *
 * @packageDocumentation
 */

/** A typed reference to one service instance (e.g. the CommandRunner). */
export interface ServiceRef<T> {
  /** Stable id, e.g. `core.commandRunner`. Unique across plugins: prefix with the plugin id. */
  readonly id: string;
  /** The container token (`Symbol.for(id)`). */
  readonly token: symbol;
  readonly kind: 'service';
  /** Phantom field carrying the type; never set at runtime. */
  readonly $type?: T;
}

/**
 * A typed reference to an extension point: a keyed set of implementations that plugins add
 * to (hypervisors by guest type, storage drivers by storage type...).
 */
export interface ExtensionPointRef<T> {
  /** Stable id, e.g. `core.storageDrivers`. */
  readonly id: string;
  readonly token: symbol;
  readonly kind: 'extensionPoint';
  /** Phantom field carrying the type; never set at runtime. */
  readonly $type?: T;
}

/** Makes a {@link ServiceRef}. The id must be unique; prefix it with the owning plugin's id. */
export function createServiceRef<T>(options: { id: string }): ServiceRef<T> {
  return Object.freeze({ id: options.id, token: Symbol.for(`corral.service:${options.id}`), kind: 'service' as const });
}

/** Makes an {@link ExtensionPointRef}. */
export function createExtensionPoint<T>(options: { id: string }): ExtensionPointRef<T> {
  return Object.freeze({
    id: options.id,
    token: Symbol.for(`corral.extension:${options.id}`),
    kind: 'extensionPoint' as const,
  });
}
