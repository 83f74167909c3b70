/**
 * Ids of the conformance checks, in the order they are registered; each becomes one ava test
 * titled `<name> › <title>`. Pass ids in `skip` to leave checks out.
 */
export const CONFORMANCE_CHECKS = {
  info: 'capability record is consistent',
  status: 'status reports sizes of an active storage',
  allocate: 'allocate names, sizes and formats',
  list: 'list filters by content and guest',
  'not-found': 'operations on a freed volume answer NotFoundError',
  resize: 'resize grows (and shrinks only where allowed), keeping the bytes',
  snapshot: 'snapshot, list, rollback restores the bytes, delete',
  'template-clone': 'template base and linked clone independence',
  copy: 'full copy within the storage and to the copy target',
  transfer: 'export/import round trip in every transfer format, failed import leaves nothing',
  protected: 'a protected volume cannot be freed',
  'bad-volume-ids': 'bad and foreign volume ids are InvalidVolumeIdError before the driver runs',
  'unknown-storage': 'an unknown storage is NotFoundError',
  capabilities: 'a missing capability is NotSupportedError before the driver runs',
  subvol: 'subvol (container rootfs directory) volumes',
  upload: 'upload of iso/vztmpl/snippets files',
} as const;

/** One conformance check id. */
export type ConformanceCheckId = keyof typeof CONFORMANCE_CHECKS;

/**
 * The checks that start by allocating (or importing) a volume. A suite that declares
 * `cannotAllocate` does not run them: they are registered as skipped, titled with the
 * declaration, and {@link NO_ALLOCATION_CHECK} proves the declaration instead.
 */
export const ALLOCATING_CHECKS: readonly ConformanceCheckId[] = Object.freeze([
  'allocate',
  'list',
  'not-found',
  'resize',
  'snapshot',
  'template-clone',
  'copy',
  'transfer',
  'protected',
  'capabilities',
  'subvol',
]);

/**
 * Title of the check registered only for a suite that declares `cannotAllocate`: the
 * driver must refuse `allocate` and every import with `NotSupportedError` before anything
 * is made. A driver that can allocate fails it.
 */
export const NO_ALLOCATION_CHECK = 'declared unable to allocate: allocate and import are refused, nothing is made';
