import test from 'ava';
import * as errors from '../../src/errors.js';
import { CorralError, ErrorCodes, isCorralError } from '../../src/errors.js';

const cause = new Error('lower level');

/** Every error class: how to build it, the code it must carry, what its message must say, its data fields. */
const table: Array<{ make: () => CorralError; code: string; message: RegExp; fields?: Record<string, unknown> }> = [
  { make: () => new errors.InternalError('bug', { cause }), code: 'CORRAL_ERR_INTERNAL', message: /bug/ },
  { make: () => new errors.InvalidArgumentError('vmid', 'bad vmid'), code: 'CORRAL_ERR_INVALID_ARGUMENT', message: /bad vmid/, fields: { argument: 'vmid' } },
  {
    make: () => new errors.InvalidConfigError('memory', 'lots', "memory: 'lots' is not a number"),
    code: 'CORRAL_ERR_INVALID_CONFIG',
    message: /memory/,
    fields: { key: 'memory', value: 'lots' },
  },
  { make: () => new errors.ParseError('100.conf', 'bad line', 3), code: 'CORRAL_ERR_PARSE', message: /^100\.conf:3: bad line$/, fields: { line: 3, source: '100.conf' } },
  { make: () => new errors.NotFoundError('guest', '100'), code: 'CORRAL_ERR_NOT_FOUND', message: /guest '100' does not exist/, fields: { kind: 'guest', id: '100' } },
  { make: () => new errors.AlreadyExistsError('storage', 'local'), code: 'CORRAL_ERR_ALREADY_EXISTS', message: /storage 'local' already exists/, fields: { kind: 'storage', id: 'local' } },
  { make: () => new errors.ConflictError('busy'), code: 'CORRAL_ERR_CONFLICT', message: /busy/ },
  {
    make: () => new errors.DigestMismatchError('nodes/n/qemu-server/100.conf', 'aaa', 'bbb'),
    code: 'CORRAL_ERR_DIGEST_MISMATCH',
    message: /modified by someone else.*aaa.*bbb/,
    fields: { path: 'nodes/n/qemu-server/100.conf', expected: 'aaa', actual: 'bbb' },
  },
  { make: () => new errors.GuestLockedError(100, 'backup'), code: 'CORRAL_ERR_LOCKED', message: /guest 100 is locked \(backup\)/, fields: { vmid: 100, lock: 'backup' } },
  { make: () => new errors.LockTimeoutError('guest:100', 500), code: 'CORRAL_ERR_LOCK_TIMEOUT', message: /'guest:100' within 500 ms/, fields: { lockName: 'guest:100', timeoutMs: 500 } },
  {
    make: () => new errors.LockLostError('guest:100', 'the lease expired'),
    code: 'CORRAL_ERR_LOCK_LOST',
    message: /lock 'guest:100' was lost: the lease expired/,
    fields: { lockName: 'guest:100' },
  },
  {
    make: () => new errors.PermissionError('args', 'alice@pve', "'args' needs a privileged caller"),
    code: 'CORRAL_ERR_PERMISSION',
    message: /'args' needs a privileged caller/,
    fields: { key: 'args', user: 'alice@pve' },
  },
  { make: () => new errors.NotSupportedError('snapshot'), code: 'CORRAL_ERR_NOT_SUPPORTED', message: /'snapshot' is not supported/, fields: { operation: 'snapshot' } },
  { make: () => new errors.InvalidStateError('running', 'guest 100 is running'), code: 'CORRAL_ERR_INVALID_STATE', message: /running/, fields: { state: 'running' } },
  {
    make: () => new errors.CommandFailedError(['false', '-x'], 1, 'oops\n'),
    code: 'CORRAL_ERR_COMMAND_FAILED',
    message: /'false -x' exited with code 1: oops/,
    fields: { argv: ['false', '-x'], exitCode: 1, stderr: 'oops\n', signal: null },
  },
  {
    make: () => new errors.CommandFailedError(['sleep', '9'], null, '', 'SIGKILL'),
    code: 'CORRAL_ERR_COMMAND_FAILED',
    message: /was killed by SIGKILL/,
    fields: { signal: 'SIGKILL', exitCode: null },
  },
  {
    make: () => new errors.CommandTimeoutError(['sleep', '9'], 100, ''),
    code: 'CORRAL_ERR_COMMAND_TIMEOUT',
    message: /timed out after 100 ms/,
    fields: { argv: ['sleep', '9'], timeoutMs: 100 },
  },
  { make: () => new errors.AbortedError(), code: 'CORRAL_ERR_ABORTED', message: /aborted/ },
  { make: () => new errors.TimeoutError('QMP greeting', 2000), code: 'CORRAL_ERR_TIMEOUT', message: /2000 ms waiting for QMP greeting/, fields: { what: 'QMP greeting', timeoutMs: 2000 } },
  {
    make: () => new errors.PluginApiTooNewError('p', 5, 4),
    code: 'CORRAL_ERR_PLUGIN_API_TOO_NEW',
    message: /needs plugin API 5, this core provides 4/,
    fields: { pluginId: 'p', pluginApiVersion: 5, coreApiVersion: 4 },
  },
  {
    make: () => new errors.PluginApiTooOldError('p', 1, 3),
    code: 'CORRAL_ERR_PLUGIN_API_TOO_OLD',
    message: /accepts 3 or newer/,
    fields: { pluginId: 'p', pluginApiVersion: 1, oldestAccepted: 3 },
  },
  { make: () => new errors.PluginInvalidError('p', 'bad plugin'), code: 'CORRAL_ERR_PLUGIN_INVALID', message: /bad plugin/, fields: { pluginId: 'p' } },
  {
    make: () => new errors.PluginMissingDependencyError('p', 'q'),
    code: 'CORRAL_ERR_PLUGIN_MISSING_DEPENDENCY',
    message: /'p' requires plugin 'q'/,
    fields: { pluginId: 'p', missing: 'q' },
  },
  { make: () => new errors.PluginDependencyCycleError(['a', 'b', 'a']), code: 'CORRAL_ERR_PLUGIN_DEPENDENCY_CYCLE', message: /a -> b -> a/, fields: { cycle: ['a', 'b', 'a'] } },
  { make: () => new errors.PluginLoadFailedError('p', { cause }), code: 'CORRAL_ERR_PLUGIN_LOAD_FAILED', message: /'p' failed to load: lower level/, fields: { pluginId: 'p' } },
  {
    make: () => new errors.InfrastructureConflictError('core.configStore', 'cluster-etcd', 'kernel options'),
    code: 'CORRAL_ERR_INFRASTRUCTURE_CONFLICT',
    message: /'core\.configStore' is provided by both cluster-etcd and kernel options/,
    fields: { refId: 'core.configStore', first: 'cluster-etcd', second: 'kernel options' },
  },
  { make: () => new errors.ServiceNotRegisteredError('x.y'), code: 'CORRAL_ERR_SERVICE_NOT_REGISTERED', message: /'x\.y'/, fields: { refId: 'x.y' } },
  { make: () => new errors.InvalidVolumeIdError('local:../x', 'traversal'), code: 'CORRAL_ERR_INVALID_VOLUME_ID', message: /'local:\.\.\/x': traversal/, fields: { volid: 'local:../x' } },
  {
    make: () => new errors.StorageFullError('local', 10, 5),
    code: 'CORRAL_ERR_STORAGE_FULL',
    message: /'local' has 5 bytes free, 10 requested/,
    fields: { storage: 'local', requestedBytes: 10, availableBytes: 5 },
  },
  { make: () => new errors.ProtectedError('volume', 'local:x'), code: 'CORRAL_ERR_PROTECTED', message: /volume 'local:x' is protected/, fields: { kind: 'volume', id: 'local:x' } },
  { make: () => new errors.UnavailableError('ceph', 'no monitors'), code: 'CORRAL_ERR_UNAVAILABLE', message: /no monitors/, fields: { component: 'ceph' } },
  {
    make: () => new errors.WriteOutcomeUnknownError('nodes/n/qemu-server/100.conf', 'whether it landed is unknown'),
    code: 'CORRAL_ERR_UNAVAILABLE',
    message: /whether it landed is unknown/,
    fields: { component: 'config-store', path: 'nodes/n/qemu-server/100.conf', outcomeUnknown: true },
  },
  { make: () => new errors.ProtocolError('qmp', 'bad reply', { class: 'GenericError' }), code: 'CORRAL_ERR_PROTOCOL', message: /bad reply/, fields: { peer: 'qmp', data: { class: 'GenericError' } } },
  { make: () => new errors.DisposedError(), code: 'CORRAL_ERR_DISPOSED', message: /kernel has been disposed/ },
];

test('every error class has a row in the table', (t) => {
  const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function' && v.prototype instanceof CorralError).map(([k]) => k);
  const tested = new Set(table.map((row) => row.make().constructor.name));
  t.deepEqual(classes.filter((c) => !tested.has(c)), []);
});

test('every code in the table is a declared code, and every declared code is used', (t) => {
  const declared = new Set<string>(Object.values(ErrorCodes));
  const used = new Set(table.map((r) => r.code));
  t.deepEqual([...used].filter((c) => !declared.has(c)), []);
  t.deepEqual([...declared].filter((c) => !used.has(c)), []);
});

for (const [i, row] of table.entries()) {
  const sample = row.make();
  test(`${sample.constructor.name} (${row.code}) #${i}`, (t) => {
    const err = row.make();
    t.true(err instanceof CorralError);
    t.true(err instanceof Error);
    t.is(err.code, row.code as never);
    t.is(err.name, err.constructor.name);
    t.regex(err.message, row.message);
    t.true(isCorralError(err, err.code));
    for (const [field, value] of Object.entries(row.fields ?? {})) t.deepEqual((err as unknown as Record<string, unknown>)[field], value, field);
    const json = err.toJSON();
    t.is(json.code, row.code);
    t.is(json.message, err.message);
  });
}

test('cause is carried through', (t) => {
  const err = new errors.InternalError('wrapped', { cause });
  t.is(err.cause, cause);
  t.false('cause' in new errors.InternalError('no cause'));
});

test('isCorralError tells Corral errors and codes apart', (t) => {
  t.false(isCorralError(new Error('x')));
  t.true(isCorralError(new errors.ConflictError('x')));
  t.false(isCorralError(new errors.ConflictError('x'), ErrorCodes.notFound));
});
