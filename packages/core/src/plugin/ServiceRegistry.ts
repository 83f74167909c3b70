import 'reflect-metadata';
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { AlreadyExistsError, ServiceNotRegisteredError } from '../errors.js';
import type { ExtensionPointRef, ServiceRef } from './refs.js';

/**
 * The kernel's typed view of its tsyringe container: services by {@link ServiceRef} and
 * extension points by {@link ExtensionPointRef}. The one place that turns refs into tokens.
 */
export class ServiceRegistry {
  readonly #extensions = new Map<string, Map<string, unknown>>();

  /** @param container the kernel's root container (a child of tsyringe's, never the global one itself). */
  constructor(readonly container: DependencyContainer) {}

  /** Registers a service; throws `AlreadyExistsError` when the ref has a provider already. */
  provide<T>(ref: ServiceRef<T>, provider: { value: T } | { factory: () => T }): void {
    if (this.container.isRegistered(ref.token, false)) throw new AlreadyExistsError('service', ref.id);
    if ('value' in provider) this.container.register<T>(ref.token, { useValue: provider.value });
    else this.container.register<T>(ref.token, { useFactory: instanceCachingFactory(() => provider.factory()) });
  }

  /** True when something provides `ref`. */
  has<T>(ref: ServiceRef<T>): boolean {
    return this.container.isRegistered(ref.token, false);
  }

  /** Resolves a service; throws `ServiceNotRegisteredError` naming the ref. */
  get<T>(ref: ServiceRef<T>): T {
    if (!this.container.isRegistered(ref.token, false)) throw new ServiceNotRegisteredError(ref.id);
    return this.container.resolve<T>(ref.token);
  }

  /** Adds `implementation` under `key`; throws `AlreadyExistsError` when the key is taken. */
  extend<T>(point: ExtensionPointRef<T>, key: string, implementation: T): void {
    let map = this.#extensions.get(point.id);
    if (!map) this.#extensions.set(point.id, (map = new Map()));
    if (map.has(key)) throw new AlreadyExistsError(`${point.id} extension`, key);
    map.set(key, implementation);
  }

  /** Every implementation of an extension point, by key. */
  extensions<T>(point: ExtensionPointRef<T>): ReadonlyMap<string, T> {
    return (this.#extensions.get(point.id) as Map<string, T> | undefined) ?? new Map<string, T>();
  }

  /** One implementation, or undefined. */
  extension<T>(point: ExtensionPointRef<T>, key: string): T | undefined {
    return this.extensions(point).get(key);
  }
}
