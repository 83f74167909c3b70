import {
  AlreadyExistsError,
  CommandFailedError,
  CommandTimeoutError,
  ConflictError,
  CorralError,
  NotFoundError,
  NotSupportedError,
  StorageFullError,
  UnavailableError,
} from '@corral/core';

/** What went wrong in a failed zfs/zpool command, read from its stderr. */
export type ZfsFailure =
  | 'missing'
  | 'exists'
  | 'busy'
  | 'space'
  | 'clones'
  | 'newer-snapshots'
  | 'not-mounted'
  | 'daemon'
  | 'no-zvols'
  | 'no-pool';

/**
 * stderr patterns of zfs (OpenZFS 2.x and zfs-fuse 0.7, same texts; see the recorded
 * fixtures), first match wins.
 */
const PATTERNS: ReadonlyArray<[ZfsFailure, RegExp]> = [
  ['daemon', /make sure that the zfs-fuse daemon is running|The ZFS modules are not loaded|zfs_socket|Failed to initialize the libzfs library/i],
  ['no-zvols', /Function not implemented/],
  ['no-pool', /no such pool/],
  ['missing', /dataset does not exist|could not find any snapshots|no such (?:dataset|snapshot)/i],
  ['exists', /already exists|destination '[^']*' exists/],
  ['clones', /has dependent clones/],
  ['newer-snapshots', /more recent snapshots/],
  ['busy', /dataset is busy|target is busy|pool or dataset is busy/],
  // tar (tar+size imports) reports a full filesystem as a short write.
  ['space', /out of space|No space left on device|exceeds quota|Disk quota exceeded|Wrote only \d+ of \d+ bytes/i],
  ['not-mounted', /not currently mounted|not mounted/],
];

/** Classifies a failed command (only `CommandFailedError`s; undefined for anything else). */
export function zfsFailure(err: unknown): ZfsFailure | undefined {
  if (!(err instanceof CommandFailedError)) return undefined;
  if (err.signal === 'SIGABRT' && /\bcreate\b/.test(err.argv.join(' ')) && err.argv.includes('-V')) return 'no-zvols';
  for (const [kind, re] of PATTERNS) if (re.test(err.stderr)) return kind;
  return undefined;
}

/** What a failing operation was about, for the error it becomes. */
export interface ZfsErrorContext {
  /** Storage id. */
  readonly storage: string;
  /** The volume id concerned, if any. */
  readonly volid?: string;
  /** The snapshot concerned, if any (NotFound then names it). */
  readonly snapshot?: string;
  /** Bytes requested (for StorageFullError). */
  readonly requestedBytes?: number;
  /** Bytes available (for StorageFullError), when known. */
  readonly availableBytes?: number;
  /** The pool/dataset of the storage. */
  readonly pool: string;
}

/**
 * Turns a zfs command failure into the Corral error callers branch on: missing dataset →
 * `NotFoundError` (kind `volume` or `snapshot`), name taken → `AlreadyExistsError`, dependent
 * clones / newer snapshots / busy → `ConflictError`, out of space → `StorageFullError`, no
 * daemon or pool → `UnavailableError`, no zvol support (zfs-fuse) → `NotSupportedError`.
 * Corral errors pass through; a failure nobody recognises is returned unchanged (a
 * `CommandFailedError` with argv and stderr).
 */
export function mapZfsError(err: unknown, c: ZfsErrorContext): unknown {
  if (err instanceof CorralError && !(err instanceof CommandFailedError)) {
    if (err instanceof CommandTimeoutError) {
      return new UnavailableError('zfs', `storage '${c.storage}': '${err.argv.join(' ')}' did not finish within ${err.timeoutMs} ms`, { cause: err });
    }
    return err;
  }
  const kind = zfsFailure(err);
  const detail = err instanceof CommandFailedError ? lastLine(err.stderr) : String(err);
  switch (kind) {
    case 'missing':
      if (c.snapshot && c.volid) return new NotFoundError('snapshot', `${c.volid}@${c.snapshot}`, `snapshot '${c.snapshot}' of '${c.volid}' does not exist`, { cause: err });
      if (c.volid) return new NotFoundError('volume', c.volid, undefined, { cause: err });
      return new UnavailableError(`storage:${c.storage}`, `storage '${c.storage}': zfs dataset '${c.pool}' does not exist (${detail})`, { cause: err });
    case 'exists':
      return c.snapshot && c.volid
        ? new AlreadyExistsError('snapshot', `${c.volid}@${c.snapshot}`, undefined, { cause: err })
        : new AlreadyExistsError('volume', c.volid ?? c.pool, undefined, { cause: err });
    case 'clones':
      return new ConflictError(`${c.volid ?? c.pool}${c.snapshot ? `@${c.snapshot}` : ''} has linked clones: ${detail}`, { cause: err });
    case 'newer-snapshots':
      return new ConflictError(`cannot roll back '${c.volid}' to '${c.snapshot}': it is not the most recent snapshot (${detail})`, { cause: err });
    case 'busy':
      return new ConflictError(`${c.volid ?? c.pool} is busy (${detail})`, { cause: err });
    case 'space':
      return new StorageFullError(c.storage, c.requestedBytes ?? 0, c.availableBytes ?? 0, { cause: err });
    case 'daemon':
      return new UnavailableError('zfs', `storage '${c.storage}': ZFS is not available (${detail})`, { cause: err });
    case 'no-pool':
      return new UnavailableError(`storage:${c.storage}`, `storage '${c.storage}': zfs pool '${c.pool.split('/')[0]}' is not imported (${detail})`, { cause: err });
    case 'no-zvols':
      return new NotSupportedError('zvol', `storage '${c.storage}': this ZFS cannot create zvols (raw volumes); zfs-fuse has none (${detail || 'aborted'})`, { cause: err });
    default:
      return err;
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => l.startsWith('cannot ')) ?? lines[lines.length - 1] ?? '';
}
