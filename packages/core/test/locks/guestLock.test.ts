import test from 'ava';
import { GuestLockedError, InvalidArgumentError, InvalidStateError } from '../../src/errors.js';
import {
  GUEST_LOCK_REASONS,
  checkNotLocked,
  clearGuestLock,
  getGuestLock,
  guestLockName,
  setGuestLock,
  type GuestLockReason,
} from '../../src/locks/guestLock.js';

const checks: Array<{ description: string; entries: Record<string, string>; allow?: string[]; locked?: string }> = [
  { description: 'no lock key', entries: { memory: '512' } },
  { description: 'empty lock value', entries: { lock: '' } },
  { description: 'backup lock', entries: { memory: '512', lock: 'backup' }, locked: 'backup' },
  { description: 'suspended, not allowed', entries: { lock: 'suspended' }, locked: 'suspended' },
  { description: 'suspended, allowed (resume)', entries: { lock: 'suspended' }, allow: ['suspended'] },
  { description: 'unknown value still locks', entries: { lock: 'custom' }, locked: 'custom' },
];

for (const c of checks) {
  test(`checkNotLocked: ${c.description}`, (t) => {
    if (c.locked === undefined) {
      t.notThrows(() => checkNotLocked(c.entries, 100, { allow: c.allow }));
    } else {
      const err = t.throws(() => checkNotLocked(c.entries, 100, { allow: c.allow }), { instanceOf: GuestLockedError });
      t.is(err?.code, 'CORRAL_ERR_LOCKED');
      t.is((err as GuestLockedError).vmid, 100);
      t.is((err as GuestLockedError).lock, c.locked);
      t.is(err?.message, `guest 100 is locked (${c.locked})`);
    }
  });
}

test('setGuestLock sets every Proxmox reason on an unlocked config and refuses a locked one', (t) => {
  t.is(GUEST_LOCK_REASONS.length, 12);
  for (const reason of GUEST_LOCK_REASONS) {
    const entries = { memory: '512' };
    const locked = setGuestLock(entries, 100, reason);
    t.deepEqual(locked, { memory: '512', lock: reason });
    t.deepEqual(entries, { memory: '512' }); // input untouched
    t.is(getGuestLock(locked), reason);
    t.throws(() => setGuestLock(locked, 100, 'backup'), { instanceOf: GuestLockedError });
  }
  t.throws(() => setGuestLock({}, 100, 'nonsense' as GuestLockReason), { instanceOf: InvalidArgumentError });
});

test('clearGuestLock: any, expected, mismatch, none', (t) => {
  t.deepEqual(clearGuestLock({ lock: 'migrate', cores: '2' }, 100), { cores: '2' });
  t.deepEqual(clearGuestLock({ lock: 'backup' }, 100, { expected: 'backup' }), {});
  const e1 = t.throws(() => clearGuestLock({ lock: 'backup' }, 100, { expected: 'snapshot' }), { instanceOf: InvalidStateError });
  t.is(e1?.message, "guest 100: found lock 'backup' trying to remove 'snapshot' lock");
  const e2 = t.throws(() => clearGuestLock({ cores: '2' }, 100), { instanceOf: InvalidStateError });
  t.is(e2?.message, 'guest 100: no lock found trying to remove any lock');
  t.deepEqual(clearGuestLock({ cores: '2' }, 100, { ifLocked: true }), { cores: '2' });
});

test('guestLockName', (t) => {
  t.is(guestLockName(100), 'guest:100');
  t.throws(() => guestLockName(0), { instanceOf: InvalidArgumentError });
  t.throws(() => guestLockName(1.5), { instanceOf: InvalidArgumentError });
});
