/**
 * Callers: only core mints a privileged caller; a look-alike is refused by `checkCaller` with
 * the coded PermissionError, an unprivileged plain object is accepted as a fresh copy.
 */
import test from 'ava';
import {
  assertPrivileged,
  checkCaller,
  DEFAULT_CALLER,
  ErrorCodes,
  isPrivileged,
  PermissionError,
  privilegedCaller,
  ROOT_CALLER,
  unprivilegedCaller,
  type Caller,
} from '../../src/index.js';

/** Objects that say `privileged` without having been minted by core. */
function lookAlikes(): Array<[string, unknown]> {
  return [
    ['a literal', { user: 'root@pam', privileged: true }],
    ['a JSON round trip of ROOT_CALLER', JSON.parse(JSON.stringify(ROOT_CALLER))],
    ['a structured clone of ROOT_CALLER', structuredClone(ROOT_CALLER)],
    ['a spread copy of ROOT_CALLER', { ...ROOT_CALLER }],
    ['Object.create(ROOT_CALLER)', Object.create(ROOT_CALLER)],
    ['a Proxy of ROOT_CALLER', new Proxy(ROOT_CALLER, {})],
    ["a truthy non-boolean ('false')", { user: 'alice@pve', privileged: 'false' }],
    ['privileged: 1', { user: 'alice@pve', privileged: 1 }],
  ];
}

test('ROOT_CALLER and privilegedCaller() are privileged, frozen; DEFAULT_CALLER and unprivilegedCaller() are not', (t) => {
  t.true(isPrivileged(ROOT_CALLER));
  t.is(ROOT_CALLER.user, 'root@pam');
  const admin = privilegedCaller('admin@pam!deploy');
  t.true(isPrivileged(admin));
  t.deepEqual({ ...admin }, { user: 'admin@pam!deploy', privileged: true });
  t.true(Object.isFrozen(admin));
  t.false(isPrivileged(DEFAULT_CALLER));
  t.false(isPrivileged(unprivilegedCaller('alice@pve')));
  t.is(checkCaller(admin), admin);
  t.is(checkCaller(ROOT_CALLER), ROOT_CALLER);
  t.is(checkCaller(undefined), DEFAULT_CALLER);
});

test('privilegedCaller() refuses a user that is not a Proxmox user id', (t) => {
  for (const user of ['root', '', 'a/b@pam']) t.throws(() => privilegedCaller(user), { code: ErrorCodes.invalidArgument }, user);
});

test('a look-alike of a privileged caller is refused with the coded PermissionError naming the caller, and is not privileged', (t) => {
  for (const [what, caller] of lookAlikes()) {
    const err = t.throws(() => checkCaller(caller), { instanceOf: PermissionError }, what);
    t.is(err!.code, ErrorCodes.permission, what);
    t.is(err!.key, 'caller', what);
    t.regex(err!.message, /privilegedCaller\(\)/, what);
    t.false(isPrivileged(caller as Caller), what);
    // assertPrivileged decides by the brand too: a look-alike that skipped checkCaller gets nothing.
    const e2 = t.throws(() => assertPrivileged(caller as Caller, [{ key: 'args', reason: 'raw QEMU arguments' }]), { instanceOf: PermissionError }, what);
    t.is(e2!.key, 'args', what);
  }
  t.is(t.throws(() => checkCaller({ privileged: true }, 'owner'), { instanceOf: PermissionError })!.key, 'owner');
});

test('an unprivileged plain object is accepted as a fresh frozen copy (read once); a bad one is an InvalidArgumentError', (t) => {
  let reads = 0;
  const tricky = {
    user: 'alice@pve',
    get privileged(): boolean {
      reads++;
      return reads > 1; // false when checked, true afterwards
    },
  };
  const checked = checkCaller(tricky);
  t.not(checked, tricky as Caller);
  t.deepEqual({ ...checked }, { user: 'alice@pve', privileged: false });
  t.true(Object.isFrozen(checked));
  t.false(checked.privileged);
  t.false(isPrivileged(checked));
  t.deepEqual({ ...checkCaller({ user: 'bob@pve' }) }, { user: 'bob@pve', privileged: false }, 'privileged absent');
  for (const bad of [null, 'root@pam', 42, { user: 'root', privileged: false }, { privileged: false }]) {
    t.throws(() => checkCaller(bad), { code: ErrorCodes.invalidArgument }, JSON.stringify(bad));
  }
});
