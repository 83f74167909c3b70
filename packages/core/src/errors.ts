/**
 * The one error hierarchy of Corral.
 *
 * Every error thrown by core or a plugin is a {@link CorralError} carrying a stable
 * `CORRAL_ERR_*` code, an optional `cause`, and typed data fields where they help a caller
 * (argv of a failed command, the key of a bad config value...). Callers branch on `code`
 * (or `instanceof`), never on message text.
 *
 * @packageDocumentation
 */

/** Every error code Corral emits. Codes are part of the public API: never renamed. */
export const ErrorCodes = {
  internal: 'CORRAL_ERR_INTERNAL',
  invalidArgument: 'CORRAL_ERR_INVALID_ARGUMENT',
  invalidConfig: 'CORRAL_ERR_INVALID_CONFIG',
  parse: 'CORRAL_ERR_PARSE',
  notFound: 'CORRAL_ERR_NOT_FOUND',
  alreadyExists: 'CORRAL_ERR_ALREADY_EXISTS',
  conflict: 'CORRAL_ERR_CONFLICT',
  digestMismatch: 'CORRAL_ERR_DIGEST_MISMATCH',
  locked: 'CORRAL_ERR_LOCKED',
  lockTimeout: 'CORRAL_ERR_LOCK_TIMEOUT',
  lockLost: 'CORRAL_ERR_LOCK_LOST',
  permission: 'CORRAL_ERR_PERMISSION',
  notSupported: 'CORRAL_ERR_NOT_SUPPORTED',
  invalidState: 'CORRAL_ERR_INVALID_STATE',
  commandFailed: 'CORRAL_ERR_COMMAND_FAILED',
  commandTimeout: 'CORRAL_ERR_COMMAND_TIMEOUT',
  aborted: 'CORRAL_ERR_ABORTED',
  timeout: 'CORRAL_ERR_TIMEOUT',
  pluginApiTooNew: 'CORRAL_ERR_PLUGIN_API_TOO_NEW',
  pluginApiTooOld: 'CORRAL_ERR_PLUGIN_API_TOO_OLD',
  pluginInvalid: 'CORRAL_ERR_PLUGIN_INVALID',
  pluginMissingDependency: 'CORRAL_ERR_PLUGIN_MISSING_DEPENDENCY',
  pluginDependencyCycle: 'CORRAL_ERR_PLUGIN_DEPENDENCY_CYCLE',
  pluginLoadFailed: 'CORRAL_ERR_PLUGIN_LOAD_FAILED',
  infrastructureConflict: 'CORRAL_ERR_INFRASTRUCTURE_CONFLICT',
  serviceNotRegistered: 'CORRAL_ERR_SERVICE_NOT_REGISTERED',
  invalidVolumeId: 'CORRAL_ERR_INVALID_VOLUME_ID',
  storageFull: 'CORRAL_ERR_STORAGE_FULL',
  protected: 'CORRAL_ERR_PROTECTED',
  unavailable: 'CORRAL_ERR_UNAVAILABLE',
  protocol: 'CORRAL_ERR_PROTOCOL',
  disposed: 'CORRAL_ERR_DISPOSED',
} as const;

/** A `CORRAL_ERR_*` code. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Options every Corral error accepts. */
export interface CorralErrorOptions {
  /** The lower-level error that caused this one. */
  cause?: unknown;
}

/**
 * Base class of every Corral error.
 *
 * Subclasses fix the `code`; the constructor takes a human message naming what was wrong.
 */
export class CorralError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: CorralErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }

  /** A plain object fit for JSON (API responses, task logs). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const [k, v] of Object.entries(this)) {
      if (k !== 'code' && k !== 'cause') out[k] = v;
    }
    return out;
  }
}

/** An unexpected condition inside Corral itself (a bug). */
export class InternalError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super(ErrorCodes.internal, message, options);
  }
}

/** A caller passed a bad argument. `argument` names it. */
export class InvalidArgumentError extends CorralError {
  constructor(
    readonly argument: string,
    message: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.invalidArgument, message, options);
  }
}

/**
 * A configuration value was rejected. `key` names the config key (e.g. `net0`, `memory`,
 * or a storage option), `value` is the offending value as given.
 */
export class InvalidConfigError extends CorralError {
  constructor(
    readonly key: string,
    readonly value: unknown,
    message: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.invalidConfig, message, options);
  }
}

/** Text could not be parsed. `line` is 1-based when known, `source` names the file or format. */
export class ParseError extends CorralError {
  constructor(
    readonly source: string,
    message: string,
    readonly line?: number,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.parse, line === undefined ? `${source}: ${message}` : `${source}:${line}: ${message}`, options);
  }
}

/** Something named does not exist. `kind` says what (guest, storage, volume, task...), `id` which. */
export class NotFoundError extends CorralError {
  constructor(
    readonly kind: string,
    readonly id: string,
    message?: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.notFound, message ?? `${kind} '${id}' does not exist`, options);
  }
}

/** Something with that identity exists already. */
export class AlreadyExistsError extends CorralError {
  constructor(
    readonly kind: string,
    readonly id: string,
    message?: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.alreadyExists, message ?? `${kind} '${id}' already exists`, options);
  }
}

/** The request conflicts with the current state in a way not covered by a more specific error. */
export class ConflictError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super(ErrorCodes.conflict, message, options);
  }
}

/**
 * A compare-and-set was refused because the stored digest differs from the one the caller
 * read (Proxmox's `digest` parameter): someone else changed the file in between.
 */
export class DigestMismatchError extends CorralError {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly actual: string | null,
    options?: CorralErrorOptions,
  ) {
    super(
      ErrorCodes.digestMismatch,
      `config '${path}' was modified by someone else (digest ${expected} expected, found ${actual ?? 'no file'})`,
      options,
    );
  }
}

/** A guest carries a persistent `lock:` (backup, migrate, snapshot...) that forbids the operation. */
export class GuestLockedError extends CorralError {
  constructor(
    readonly vmid: number,
    readonly lock: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.locked, `guest ${vmid} is locked (${lock})`, options);
  }
}

/** Waiting for a lock took longer than allowed. */
export class LockTimeoutError extends CorralError {
  constructor(
    readonly lockName: string,
    readonly timeoutMs: number,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.lockTimeout, `could not acquire lock '${lockName}' within ${timeoutMs} ms`, options);
  }
}

/**
 * A held lock stopped protecting its holder (a cluster lease expired, a host lock's socket was
 * closed): what ran under it after that ran unprotected. `lockName` names the lock.
 */
export class LockLostError extends CorralError {
  constructor(readonly lockName: string, why: string, options?: CorralErrorOptions) {
    super(ErrorCodes.lockLost, `lock '${lockName}' was lost: ${why}`, options);
  }
}

/**
 * The caller may not do this: a root-equivalent config key or value (raw QEMU `args`, raw
 * `lxc.*` keys, host paths and devices...) needs a privileged caller. `key` names the config
 * key or option, `user` the caller.
 */
export class PermissionError extends CorralError {
  constructor(readonly key: string, readonly user: string, message: string, options?: CorralErrorOptions) {
    super(ErrorCodes.permission, message, options);
  }
}

/** The driver or backend cannot do this (capability missing, kernel feature absent...). */
export class NotSupportedError extends CorralError {
  constructor(
    readonly operation: string,
    message?: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.notSupported, message ?? `operation '${operation}' is not supported`, options);
  }
}

/** The object is in the wrong state for the operation (start of a running guest...). */
export class InvalidStateError extends CorralError {
  constructor(
    readonly state: string,
    message: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.invalidState, message, options);
  }
}

/** Stderr kept in error messages is cut to this many characters. */
const STDERR_IN_MESSAGE = 2000;

/** An external program exited non-zero or was killed by a signal. */
export class CommandFailedError extends CorralError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly signal: string | null = null,
    options?: CorralErrorOptions,
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    const err = stderr.trim();
    super(
      ErrorCodes.commandFailed,
      `command '${argv.join(' ')}' ${how}${err ? `: ${err.slice(0, STDERR_IN_MESSAGE)}` : ''}`,
      options,
    );
  }
}

/** An external program ran longer than its timeout and was killed. */
export class CommandTimeoutError extends CorralError {
  constructor(
    readonly argv: readonly string[],
    readonly timeoutMs: number,
    readonly stderr: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.commandTimeout, `command '${argv.join(' ')}' timed out after ${timeoutMs} ms`, options);
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends CorralError {
  constructor(message = 'operation aborted', options?: CorralErrorOptions) {
    super(ErrorCodes.aborted, message, options);
  }
}

/** Waiting for something (a guest state, a socket, a reply) took too long. */
export class TimeoutError extends CorralError {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.timeout, `timed out after ${timeoutMs} ms waiting for ${what}`, options);
  }
}

/** A plugin declares an apiVersion newer than this core's {@link PLUGIN_API_VERSION}. */
export class PluginApiTooNewError extends CorralError {
  constructor(
    readonly pluginId: string,
    readonly pluginApiVersion: number,
    readonly coreApiVersion: number,
  ) {
    super(
      ErrorCodes.pluginApiTooNew,
      `plugin '${pluginId}' needs plugin API ${pluginApiVersion}, this core provides ${coreApiVersion}: upgrade @corral/core`,
    );
  }
}

/** A plugin declares an apiVersion older than the oldest this core still accepts. */
export class PluginApiTooOldError extends CorralError {
  constructor(
    readonly pluginId: string,
    readonly pluginApiVersion: number,
    readonly oldestAccepted: number,
  ) {
    super(
      ErrorCodes.pluginApiTooOld,
      `plugin '${pluginId}' was written for plugin API ${pluginApiVersion}, this core accepts ${oldestAccepted} or newer: upgrade the plugin`,
    );
  }
}

/** A value passed as a plugin is not one (wrong shape, bad id...). */
export class PluginInvalidError extends CorralError {
  constructor(
    readonly pluginId: string,
    message: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.pluginInvalid, message, options);
  }
}

/** A plugin `requires` another plugin that is not loaded. */
export class PluginMissingDependencyError extends CorralError {
  constructor(
    readonly pluginId: string,
    readonly missing: string,
  ) {
    super(ErrorCodes.pluginMissingDependency, `plugin '${pluginId}' requires plugin '${missing}', which is not available`);
  }
}

/** Plugins require each other in a cycle. */
export class PluginDependencyCycleError extends CorralError {
  constructor(readonly cycle: readonly string[]) {
    super(ErrorCodes.pluginDependencyCycle, `plugins require each other in a cycle: ${cycle.join(' -> ')}`);
  }
}

/** A plugin threw while being imported or while its `register` ran. */
export class PluginLoadFailedError extends CorralError {
  constructor(
    readonly pluginId: string,
    options?: CorralErrorOptions,
  ) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(ErrorCodes.pluginLoadFailed, `plugin '${pluginId}' failed to load${reason}`, options);
  }
}

/**
 * Two providers supply the same piece of kernel infrastructure (the config store, the lock
 * manager, the task manager): the kernel refuses to start rather than pick one.
 */
export class InfrastructureConflictError extends CorralError {
  constructor(
    /** The service ref id (`core.configStore`). */
    readonly refId: string,
    /** Who provided it first: a plugin id, or `kernel options`. */
    readonly first: string,
    /** Who tried to provide it again. */
    readonly second: string,
  ) {
    super(ErrorCodes.infrastructureConflict, `'${refId}' is provided by both ${first} and ${second}: a kernel takes it from one provider only`);
  }
}

/** A service or extension point was resolved before anything registered it. */
export class ServiceNotRegisteredError extends CorralError {
  constructor(readonly refId: string) {
    super(ErrorCodes.serviceNotRegistered, `no provider registered for '${refId}'`);
  }
}

/** A volume id is malformed or does not belong to its storage. */
export class InvalidVolumeIdError extends CorralError {
  constructor(
    readonly volid: string,
    message: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.invalidVolumeId, `invalid volume id '${volid}': ${message}`, options);
  }
}

/** A storage has not enough free space for the request. Sizes are bytes. */
export class StorageFullError extends CorralError {
  constructor(
    readonly storage: string,
    readonly requestedBytes: number,
    readonly availableBytes: number,
    options?: CorralErrorOptions,
  ) {
    super(
      ErrorCodes.storageFull,
      `storage '${storage}' has ${availableBytes} bytes free, ${requestedBytes} requested`,
      options,
    );
  }
}

/** The object is protected (volume attribute or guest `protection: 1`) and cannot be removed. */
export class ProtectedError extends CorralError {
  constructor(
    readonly kind: string,
    readonly id: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.protected, `${kind} '${id}' is protected`, options);
  }
}

/** A daemon or backend the operation needs is not reachable or not installed. */
export class UnavailableError extends CorralError {
  constructor(
    readonly component: string,
    message: string,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.unavailable, message, options);
  }
}

/**
 * A config write failed in a way that leaves its outcome unknown: the store reported an error
 * and the file could not be read back to tell whether the new content landed. Code
 * `CORRAL_ERR_UNAVAILABLE` (a subclass of {@link UnavailableError}). An operation that meets it
 * undoes nothing that the new content could name (its volumes are kept; `guests.rescan` adopts
 * them if the write did not land), as after a crash.
 */
export class WriteOutcomeUnknownError extends UnavailableError {
  /** Always true: lets a caller recognise this error without `instanceof` across module copies. */
  readonly outcomeUnknown = true;
  constructor(
    readonly path: string,
    message: string,
    options?: CorralErrorOptions,
  ) {
    super('config-store', message, options);
  }
}

/** True for a {@link WriteOutcomeUnknownError}, also one made by another copy of this module. */
export function isWriteOutcomeUnknown(err: unknown): err is WriteOutcomeUnknownError {
  return typeof err === 'object' && err !== null && (err as { outcomeUnknown?: unknown }).outcomeUnknown === true;
}

/** A peer (QMP, guest agent, daemon) broke its protocol or answered with an error. */
export class ProtocolError extends CorralError {
  constructor(
    readonly peer: string,
    message: string,
    readonly data?: unknown,
    options?: CorralErrorOptions,
  ) {
    super(ErrorCodes.protocol, message, options);
  }
}

/** The kernel (or a client) was disposed and cannot be used any more. */
export class DisposedError extends CorralError {
  constructor(what = 'kernel') {
    super(ErrorCodes.disposed, `${what} has been disposed`);
  }
}

/** True when `err` is a {@link CorralError} with the given code. */
export function isCorralError(err: unknown, code?: ErrorCode): err is CorralError {
  return err instanceof CorralError && (code === undefined || err.code === code);
}
