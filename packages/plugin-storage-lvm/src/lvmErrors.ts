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

/** What went wrong in a failed LVM command, read from its stderr. */
export type LvmFailure = 'no-vg' | 'no-pool' | 'missing' | 'exists' | 'space' | 'same-size' | 'smaller' | 'no-device-mapper';

/** stderr patterns of lvm2 2.03 (recorded, see test/fixtures/README.md); first match wins. */
const PATTERNS: ReadonlyArray<[LvmFailure, RegExp]> = [
  ['no-vg', /Volume group "[^"]*" not found/],
  ['no-pool', /Pool \S+ not found in Volume group/],
  ['missing', /Failed to find logical volume|[Ll]ogical volume "?[^"\s]+"? not found|One or more specified logical volume\(s\) not found/],
  ['exists', /already exists in volume group/],
  ['space', /insufficient free space|Insufficient free space|Insufficient suitable allocatable extents/i],
  ['same-size', /New size \(\d+ extents\) matches existing size/],
  ['smaller', /not larger than existing size/],
  ['no-device-mapper', /without using device-mapper kernel driver|\/dev\/mapper\/control: open failed|Cannot activate thin pool/],
];

/** Classifies a failed command (only `CommandFailedError`s; undefined for anything else). */
export function lvmFailure(err: unknown): LvmFailure | undefined {
  if (!(err instanceof CommandFailedError)) return undefined;
  for (const [kind, re] of PATTERNS) if (re.test(err.stderr)) return kind;
  return undefined;
}

/** What a failing operation was about, for the error it becomes. */
export interface LvmErrorContext {
  readonly storage: string;
  readonly vg: string;
  /** The thin pool of an lvmthin storage. */
  readonly pool?: string;
  readonly volid?: string;
  readonly snapshot?: string;
  readonly requestedBytes?: number;
  readonly availableBytes?: number;
}

/** The one line of an LVM stderr that says what failed (no warnings, no fd-leak notes). */
export function lvmErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('WARNING:') && !/^File descriptor \d+ .* leaked/.test(l));
  return lines[lines.length - 1] ?? '';
}

/**
 * Turns an LVM command failure into the Corral error callers branch on: missing LV →
 * `NotFoundError` (`volume` or `snapshot`), name taken → `AlreadyExistsError`, too little
 * space in the VG → `StorageFullError`, missing VG or thin pool → `UnavailableError`, no
 * device-mapper in the kernel → `NotSupportedError`, a shrink through lvextend →
 * `ConflictError`. Corral errors pass through (a timeout becomes `UnavailableError`); a
 * failure nobody recognises is returned unchanged (`CommandFailedError` with argv and stderr).
 */
export function mapLvmError(err: unknown, c: LvmErrorContext): unknown {
  if (err instanceof CorralError && !(err instanceof CommandFailedError)) {
    if (err instanceof CommandTimeoutError) {
      return new UnavailableError('lvm', `storage '${c.storage}': '${err.argv.join(' ')}' did not finish within ${err.timeoutMs} ms`, { cause: err });
    }
    return err;
  }
  const kind = lvmFailure(err);
  const detail = err instanceof CommandFailedError ? lvmErrorLine(err.stderr) : String(err);
  switch (kind) {
    case 'no-vg':
      return new UnavailableError(`storage:${c.storage}`, `storage '${c.storage}': volume group '${c.vg}' does not exist (${detail})`, { cause: err });
    case 'no-pool':
      return new UnavailableError(`storage:${c.storage}`, `storage '${c.storage}': thin pool '${c.vg}/${c.pool ?? '?'}' does not exist (${detail})`, { cause: err });
    case 'missing':
      if (c.snapshot && c.volid) return new NotFoundError('snapshot', `${c.volid}@${c.snapshot}`, `snapshot '${c.snapshot}' of '${c.volid}' does not exist`, { cause: err });
      return new NotFoundError('volume', c.volid ?? c.vg, undefined, { cause: err });
    case 'exists':
      return c.snapshot && c.volid
        ? new AlreadyExistsError('snapshot', `${c.volid}@${c.snapshot}`, undefined, { cause: err })
        : new AlreadyExistsError('volume', c.volid ?? c.vg, undefined, { cause: err });
    case 'space':
      return new StorageFullError(c.storage, c.requestedBytes ?? 0, c.availableBytes ?? 0, { cause: err });
    case 'smaller':
      return new ConflictError(`${c.volid ?? c.vg}: LVM volumes are only grown here (${detail})`, { cause: err });
    case 'no-device-mapper':
      return new NotSupportedError('lvm-activation', `storage '${c.storage}': this kernel has no device-mapper, so LVM cannot activate or create this volume (${detail})`, { cause: err });
    default:
      return err;
  }
}
