import test from 'ava';
import type { ConfigStore } from '../../src/config/ConfigStore.js';
import { LocalConfigStore } from '../../src/config/LocalConfigStore.js';
import { transactionSettled, writeSettled } from '../../src/config/writeSettled.js';
import { DigestMismatchError, UnavailableError, WriteOutcomeUnknownError, isWriteOutcomeUnknown } from '../../src/errors.js';
import { MemoryLogger } from '../../src/util/Logger.js';
import { withReverter } from '../../src/util/Reverter.js';
import { makeTempDir } from '../../src/testing/tempDir.js';

/** `store` whose writes fail as told: before the work, after it (the rename landed), and whose reads may fail. */
function faultyStore(store: ConfigStore, fault: { write?: 'before' | 'after'; read?: boolean }): ConfigStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return async (...args: Parameters<NonNullable<ConfigStore['transaction']>>) => {
          if (fault.write === 'before') throw new UnavailableError('disk', 'EIO before the commit');
          const result = await target.transaction!(...args);
          if (fault.write === 'after') throw new UnavailableError('disk', 'EIO after the commit');
          return result;
        };
      }
      if (prop === 'write') {
        return async (...args: Parameters<ConfigStore['write']>) => {
          if (fault.write === 'before') throw new UnavailableError('disk', 'EIO before the rename');
          const digest = await target.write(...args);
          if (fault.write === 'after') throw new UnavailableError('disk', 'EIO in the directory fsync');
          return digest;
        };
      }
      if (prop === 'read' && fault.read) return async () => Promise.reject(new UnavailableError('disk', 'EIO on read'));
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function localStore(t: Parameters<typeof makeTempDir>[0]): Promise<LocalConfigStore> {
  return new LocalConfigStore({ root: await makeTempDir(t, 'corral-settle-'), fsync: false });
}

test('a write that lands and then throws counts as written: the stored digest is returned and onLanded hears the error', async (t) => {
  const local = await localStore(t);
  const old = await local.write('a.conf', 'old\n');
  const heard: string[] = [];
  const digest = await writeSettled(faultyStore(local, { write: 'after' }), 'a.conf', 'new\n', { expectedDigest: old }, (e) => heard.push(e.message));
  const stored = await local.read('a.conf');
  t.is(stored?.content, 'new\n');
  t.is(digest, stored!.digest);
  t.deepEqual(heard, ['EIO in the directory fsync']);
});

test('a write that fails before its work is rethrown as it was, and the old content stays', async (t) => {
  const local = await localStore(t);
  const old = await local.write('a.conf', 'old\n');
  let heard = 0;
  const err = await t.throwsAsync(
    writeSettled(faultyStore(local, { write: 'before' }), 'a.conf', 'new\n', { expectedDigest: old }, () => heard++),
    { instanceOf: UnavailableError, message: 'EIO before the rename' },
  );
  t.false(isWriteOutcomeUnknown(err));
  t.is(heard, 0);
  t.is((await local.read('a.conf'))?.content, 'old\n');
});

test('a new file whose write fails before its work: rethrown, still no file', async (t) => {
  const local = await localStore(t);
  await t.throwsAsync(writeSettled(faultyStore(local, { write: 'before' }), 'n.conf', 'x\n', { expectedDigest: null }), { message: 'EIO before the rename' });
  t.is(await local.read('n.conf'), null);
});

test('when the file cannot be read back either, the outcome is unknown: WriteOutcomeUnknownError naming the path, caused by the write error', async (t) => {
  const local = await localStore(t);
  const err = await t.throwsAsync(writeSettled(faultyStore(local, { write: 'after', read: true }), 'a.conf', 'new\n'), { instanceOf: WriteOutcomeUnknownError });
  t.is(err!.code, 'CORRAL_ERR_UNAVAILABLE');
  t.is(err!.path, 'a.conf');
  t.regex(err!.message, /'a\.conf'.*EIO in the directory fsync.*EIO on read.*unknown/);
  t.true(isWriteOutcomeUnknown(err));
});

test('a refused compare-and-set is rethrown without reading back, even when the store holds the same content', async (t) => {
  const local = await localStore(t);
  await local.write('a.conf', 'same\n');
  await t.throwsAsync(writeSettled(local, 'a.conf', 'same\n', { expectedDigest: null }), { instanceOf: DigestMismatchError });
});

test('withReverter abandons its undos on an unknown write outcome: nothing is undone, each kept step is a warning', async (t) => {
  const undone: string[] = [];
  const log = new MemoryLogger();
  const unknown = new WriteOutcomeUnknownError('nodes/n/qemu-server/100.conf', 'outcome unknown');
  await t.throwsAsync(
    withReverter(
      async (revert) => {
        revert.add(() => undone.push('free local:100/vm-100-disk-0.raw'), 'free local:100/vm-100-disk-0.raw');
        throw unknown;
      },
      { log },
    ),
    { is: unknown },
  );
  t.deepEqual(undone, []);
  t.is(log.lines.length, 1);
  t.regex(log.lines[0]!.message, /^not undone 'free local:100\/vm-100-disk-0\.raw': whether config 'nodes\/n\/qemu-server\/100\.conf' was written is unknown/);
});

test('a transaction that lands and then throws counts as done: the stored digests are returned and onLanded hears the error', async (t) => {
  const local = await localStore(t);
  const claim = await local.write('claims/100', 'claim\n');
  const heard: string[] = [];
  const ops = [
    { type: 'write', path: 'a.conf', content: 'new\n', expectedDigest: null },
    { type: 'delete', path: 'claims/100', expectedDigest: claim },
  ] as const;
  const { digests } = await transactionSettled(faultyStore(local, { write: 'after' }), ops, (e) => heard.push(e.message));
  t.is(digests.get('a.conf'), (await local.read('a.conf'))!.digest);
  t.is(await local.read('claims/100'), null);
  t.deepEqual(heard, ['EIO after the commit']);
});

test('a transaction that fails before its commit is rethrown and nothing changed; an unreadable outcome is WriteOutcomeUnknownError', async (t) => {
  const local = await localStore(t);
  const claim = await local.write('claims/100', 'claim\n');
  const ops = [
    { type: 'write', path: 'a.conf', content: 'new\n', expectedDigest: null },
    { type: 'delete', path: 'claims/100', expectedDigest: claim },
  ] as const;
  await t.throwsAsync(transactionSettled(faultyStore(local, { write: 'before' }), ops), { instanceOf: UnavailableError, message: 'EIO before the commit' });
  t.is(await local.read('a.conf'), null);
  t.is((await local.read('claims/100'))?.content, 'claim\n');
  const unknown = await t.throwsAsync(transactionSettled(faultyStore(local, { write: 'after', read: true }), ops));
  t.true(unknown instanceof WriteOutcomeUnknownError, String(unknown));
  t.true(isWriteOutcomeUnknown(unknown));
});

test('a refused transaction (digest mismatch) is rethrown without reading anything back', async (t) => {
  const local = await localStore(t);
  await local.write('a.conf', 'there\n');
  await t.throwsAsync(transactionSettled(faultyStore(local, { read: true }), [{ type: 'write', path: 'a.conf', content: 'new\n', expectedDigest: null }]), { instanceOf: DigestMismatchError });
  t.is((await local.read('a.conf'))?.content, 'there\n');
});
