/**
 * Internal helper of the format parsers (not exported from the package).
 *
 * @packageDocumentation
 */

/**
 * Sets `key` on a plain object as an own enumerable property, never hitting an inherited
 * setter: a config key such as `__proto__` stays an ordinary key.
 */
export function defineOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
