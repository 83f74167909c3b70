/**
 * Waits for every promise to settle, then resolves with their values in order, or rejects with
 * the error of the first rejected promise in array order (not in time order). Unlike
 * `Promise.all`, nothing keeps running in the background once it rejects, so steps run side by
 * side behave like the same steps run one after another, except for time.
 */
export async function settleAll<const T extends readonly unknown[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  const values: unknown[] = [];
  for (const r of results) {
    if (r.status === 'rejected') throw r.reason;
    values.push(r.value);
  }
  return values as { -readonly [K in keyof T]: Awaited<T[K]> };
}
