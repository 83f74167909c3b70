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

/** What went wrong in a failed rbd/ceph command, read from its exit code and stderr. */
export type RbdFailure = 'unreachable' | 'auth' | 'no-pool' | 'no-namespace' | 'missing' | 'exists' | 'busy' | 'has-snapshots' | 'space' | 'no-krbd';

/** stderr patterns of rbd/ceph 16 (recorded in test/fixtures), first match wins. */
const PATTERNS: ReadonlyArray<[RbdFailure, RegExp]> = [
  ['auth', /\(13\) Permission denied|handle_auth_bad_method|\(1\) Operation not permitted/],
  // `ceph --connect-timeout` prints only "timed out".
  ['unreachable', /couldn't connect to the cluster|authenticate timed out|error connecting to the cluster|RADOS timed out|\(110\) Connection timed out|^timed out$/m],
  ['no-krbd', /failed to load rbd kernel module|modprobe: not found|sysfs write failed/],
  ['no-pool', /error opening pool|pool '[^']*' does not exist/],
  ['no-namespace', /namespace '[^']*' does not exist/],
  ['has-snapshots', /image has snapshots/],
  ['busy', /\(16\) Device or resource busy|child\(ren\)|is protected from removal|still has watchers|has watchers/],
  ['exists', /\(17\) File exists|already exists/],
  ['space', /\(28\) No space left|\(122\) Disk quota exceeded|pool is full|FULL/],
  ['missing', /\(2\) No such file or directory|No such snapshot|does not exist/],
];

/** Classifies a failed command (only `CommandFailedError`/`CommandTimeoutError`). */
export function rbdFailure(err: unknown): RbdFailure | undefined {
  if (err instanceof CommandTimeoutError) return 'unreachable';
  if (!(err instanceof CommandFailedError)) return undefined;
  for (const [kind, re] of PATTERNS) if (re.test(err.stderr)) return kind;
  if (err.exitCode === 110) return 'unreachable';
  return undefined;
}

/** What a failing operation was about, for the error it becomes. */
export interface RbdErrorContext {
  readonly storage: string;
  /** `pool[/namespace]`. */
  readonly location: string;
  /** How the cluster is reached (monitors or conf), for messages. */
  readonly cluster: string;
  readonly connectTimeoutSeconds: number;
  readonly volid?: string;
  readonly snapshot?: string;
  readonly requestedBytes?: number;
}

/** The last meaningful stderr line (librbd's `<date> <thread> -1 librbd: msg` reduced to msg, as Proxmox does). */
export function rbdErrorText(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(?:Removing|Importing|Exporting|Resizing|Creating|Rolling back)[^:]*: \d+% complete/.test(l) && !/^In some cases useful info/.test(l))
    .map((l) => l.replace(/^\d{4}-\d{2}-\d{2}T?\s?[\d:.+]+\s+[0-9a-f]+\s+-?\d+\s+/, ''));
  return lines.filter((l) => l.startsWith('rbd:')).at(-1) ?? lines.at(-1) ?? '';
}

/**
 * Turns an rbd/ceph failure into the Corral error callers branch on: monitors unreachable or
 * authentication refused → `UnavailableError`, missing pool/namespace → `UnavailableError`,
 * missing image/snapshot → `NotFoundError`, name taken → `AlreadyExistsError`, clones /
 * watchers / snapshots in the way → `ConflictError`, full → `StorageFullError`, no krbd →
 * `NotSupportedError`. Other Corral errors pass through; an unknown failure is returned as is.
 */
export function mapRbdError(err: unknown, c: RbdErrorContext): unknown {
  const kind = rbdFailure(err);
  if (kind === undefined) return err;
  const detail = err instanceof CommandFailedError ? rbdErrorText(err.stderr) : err instanceof CorralError ? err.message : String(err);
  const what = c.snapshot && c.volid ? `${c.volid}@${c.snapshot}` : c.volid;
  switch (kind) {
    case 'unreachable':
      return new UnavailableError(
        'ceph',
        `storage '${c.storage}': cannot reach the Ceph monitors (${c.cluster}) within ${c.connectTimeoutSeconds} s: ${detail}`,
        { cause: err },
      );
    case 'auth':
      return new UnavailableError('ceph', `storage '${c.storage}': the Ceph cluster (${c.cluster}) refused the client: ${detail}`, { cause: err });
    case 'no-pool':
      return new UnavailableError(`storage:${c.storage}`, `storage '${c.storage}': rbd pool '${c.location.split('/')[0]}' does not exist (${detail})`, { cause: err });
    case 'no-namespace':
      return new UnavailableError(`storage:${c.storage}`, `storage '${c.storage}': rbd namespace '${c.location}' does not exist (${detail})`, { cause: err });
    case 'missing':
      if (c.snapshot && c.volid) return new NotFoundError('snapshot', what!, `snapshot '${c.snapshot}' of '${c.volid}' does not exist`, { cause: err });
      if (c.volid) return new NotFoundError('volume', c.volid, undefined, { cause: err });
      return new UnavailableError(`storage:${c.storage}`, `storage '${c.storage}': ${detail}`, { cause: err });
    case 'exists':
      return c.snapshot && c.volid ? new AlreadyExistsError('snapshot', what!, undefined, { cause: err }) : new AlreadyExistsError('volume', c.volid ?? c.location, undefined, { cause: err });
    case 'busy':
    case 'has-snapshots':
      return new ConflictError(`${what ?? c.location}: ${detail}`, { cause: err });
    case 'space':
      return new StorageFullError(c.storage, c.requestedBytes ?? 0, 0, { cause: err });
    case 'no-krbd':
      return new NotSupportedError('krbd', `storage '${c.storage}': the kernel cannot map rbd images (${detail})`, { cause: err });
  }
}
