import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, lstat, mkdir, open as openFile, readdir, stat, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { AbortedError, LockTimeoutError, UnavailableError } from '../../src/errors.js';
import { HostLockManager } from '../../src/locks/HostLockManager.js';
import { acquireHostLock, defaultHostLockDirectory, hostLockPath } from '../../src/locks/acquireHostLock.js';
import { runTool, runToolOk } from '../../src/testing/runTool.js';
import { spawnChild } from '../../src/testing/spawnChild.js';
import { makeTempDir } from '../../src/testing/tempDir.js';

const holder = new URL('./fixtures/hostLockHolderChild.js', import.meta.url);
const unique = (what: string): string => `corral-test-${what}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;

test('HostLockManager excludes within a namespace and not across namespaces', async (t) => {
  const ns = unique('ns');
  const a = new HostLockManager({ namespace: ns });
  const b = new HostLockManager({ namespace: ns });
  const c = new HostLockManager({ namespace: `${ns}-other` });
  const lease = await a.acquire('guest:100');
  const err = await t.throwsAsync(b.acquire('guest:100', { timeoutMs: 50 }), { instanceOf: LockTimeoutError });
  t.is((err as LockTimeoutError).lockName, 'guest:100');
  t.is((err as LockTimeoutError).timeoutMs, 50);
  await (await c.acquire('guest:100', { timeoutMs: 0 })).release();
  const events: string[] = [];
  const waiting = b.acquire('guest:100', { timeoutMs: 5_000 }).then((l) => (events.push('granted'), l));
  events.push('releasing');
  await lease.release();
  await (await waiting).release();
  t.deepEqual(events, ['releasing', 'granted'], 'the second manager waited for the release');
});

test('a host lock held by a process that is SIGKILLed is free at once (no stale lock)', async (t) => {
  const name = unique('holder');
  const child = spawnChild(holder, [name]);
  t.teardown(() => child.kill());
  await child.waitFor(/^locked$/);
  await t.throwsAsync(acquireHostLock(name, { timeoutMs: 50 }), { instanceOf: LockTimeoutError });
  const ac = new AbortController();
  const aborted = acquireHostLock(name, { signal: ac.signal });
  ac.abort();
  await t.throwsAsync(aborted, { instanceOf: AbortedError });
  child.kill();
  await child.exited;
  const t0 = performance.now();
  const lease = await acquireHostLock(name, { timeoutMs: 1_000 });
  t.log(`lock free ${(performance.now() - t0).toFixed(1)} ms after the holder's death`);
  await lease.release();
});

test('shared across processes: two processes hold a lock shared together; an exclusive request waits until both are gone', async (t) => {
  const name = unique('shared');
  const readers = [spawnChild(holder, [name, '', 'shared']), spawnChild(holder, [name, '', 'shared'])];
  t.teardown(() => readers.forEach((r) => r.kill()));
  await Promise.all(readers.map((r) => r.waitFor(/^locked$/)));
  // A third shared holder gets in at once; an exclusive one does not.
  await (await acquireHostLock(name, { mode: 'shared', timeoutMs: 1_000 })).release();
  await t.throwsAsync(acquireHostLock(name, { timeoutMs: 100 }), { instanceOf: LockTimeoutError });
  let granted = false;
  const writer = acquireHostLock(name, { timeoutMs: 5_000 }).then((l) => ((granted = true), l));
  readers[0]!.kill();
  await readers[0]!.exited;
  await sleep(100);
  t.false(granted, 'one shared holder is still alive');
  readers[1]!.kill();
  await readers[1]!.exited;
  const lease = await writer;
  t.is(lease.mode, 'exclusive');
  // The killed readers' sockets were removed by the writer.
  t.deepEqual(await readdir(hostLockPath(name).replace(/\.sock$/, '.shared')), []);
  // While it is held exclusively, a shared request from another process waits.
  const late = spawnChild(holder, [name, '', 'shared']);
  t.teardown(() => late.kill());
  await t.throwsAsync(late.waitFor(/^locked$/, 300));
  await lease.release();
  await late.waitFor(/^locked$/, 5_000);
});

test('a shared holder in another process makes an exclusive HostLockManager wait and time out with the whole timeout', async (t) => {
  const ns = unique('mgr');
  const child = spawnChild(holder, ['guest:300', ns, 'shared']);
  t.teardown(() => child.kill());
  await child.waitFor(/^locked$/);
  const locks = new HostLockManager({ namespace: ns });
  await (await locks.acquire('guest:300', { mode: 'shared', timeoutMs: 500 })).release();
  const err = await t.throwsAsync(locks.acquire('guest:300', { timeoutMs: 150 }), { instanceOf: LockTimeoutError });
  t.is((err as LockTimeoutError).timeoutMs, 150);
});

/** argv prefix running a program as nobody:nogroup with no supplementary groups. */
const asNobody = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'];

test('an unprivileged user can neither take nor block a host lock: lock files sit in a root-only directory', async (t) => {
  const name = unique('nobody');
  const directory = defaultHostLockDirectory();
  const path = hostLockPath(name);
  const held = await acquireHostLock(name, { timeoutMs: 0 });
  const dir = await stat(directory);
  t.is(dir.uid, 0);
  t.is(dir.mode & 0o777, 0o700);
  t.true((await lstat(path)).isSocket());
  await held.release();

  // As nobody: listen on the lock's name first (how the abstract sockets could be squatted).
  const squat = `const s = require('net').createServer(); s.on('error', (e) => { console.log(e.code); process.exit(3); }); s.listen(${JSON.stringify(path)}, () => console.log('listening'));`;
  const bind = await runTool([...asNobody, process.execPath, '-e', squat], { timeoutMs: 30_000 });
  t.false(bind.timedOut, 'nobody did not get to hold the name');
  t.is(bind.stdout.trim(), 'EACCES');
  // util-linux flock as nobody on the file that serializes stale-lock removal, held 10 minutes.
  const raw = await runTool([...asNobody, 'flock', join(directory, `${basename(path, '.sock')}.lock`), 'sleep', '600'], { timeoutMs: 30_000 });
  t.false(raw.timedOut, 'nobody did not get to hold the flock');
  t.not(raw.exitCode, 0);
  t.regex(raw.stderr, /cannot open lock file.*Permission denied/);
  // Corral's own acquire as nobody, aimed at root's lock directory.
  const child = await runTool([...asNobody, process.execPath, fileURLToPath(holder), name, '', 'exclusive', directory], { timeoutMs: 30_000 });
  t.false(child.timedOut, 'nobody did not get to hold the lock');
  t.is(child.exitCode, 1);
  t.regex(child.stdout, /^err CORRAL_ERR_UNAVAILABLE host lock directory .* must be a directory owned by uid 65534/);
  // Root takes it at once, exclusive and without waiting.
  const lease = await acquireHostLock(name, { timeoutMs: 0 });
  t.is(lease.mode, 'exclusive');
  await lease.release();
});

test('a lock directory that others could open, or that is not a real directory, is refused with UnavailableError', async (t) => {
  const base = await makeTempDir(t, 'corral-lockdir-');
  const name = unique('dir');
  const open = join(base, 'open');
  await mkdir(open, { mode: 0o755 });
  await chmod(open, 0o755);
  const e1 = await t.throwsAsync(acquireHostLock(name, { directory: open, timeoutMs: 0 }), { instanceOf: UnavailableError });
  t.regex(e1!.message, /must be a directory owned by uid 0 with mode 0700.*found a directory owned by uid 0 with mode 0755/);
  const foreign = join(base, 'foreign');
  await mkdir(foreign, { mode: 0o700 });
  await chown(foreign, 65534, 65534);
  const e2 = await t.throwsAsync(acquireHostLock(name, { directory: foreign, timeoutMs: 0 }), { instanceOf: UnavailableError });
  t.regex(e2!.message, /owned by uid 65534/);
  const link = join(base, 'link');
  const real = join(base, 'real');
  await mkdir(real, { mode: 0o700 });
  await symlink(real, link);
  const e3 = await t.throwsAsync(acquireHostLock(name, { directory: link, timeoutMs: 0 }), { instanceOf: UnavailableError });
  t.regex(e3!.message, /not a directory/);
  // Fixed by its owner, the directory is accepted; a missing one is created 0700.
  await chmod(open, 0o700);
  await (await acquireHostLock(name, { directory: open, timeoutMs: 0 })).release();
  const fresh = join(base, 'a', 'fresh');
  await (await acquireHostLock(name, { directory: fresh, timeoutMs: 0 })).release();
  t.is((await lstat(fresh)).mode & 0o777, 0o700);
  t.is(dirname(hostLockPath(name, { directory: fresh })), fresh);
});

test('a lock released while a program this process started still runs is free at once; a released lock leaves no file', async (t) => {
  const name = unique('inherit');
  const lease = await acquireHostLock(name, { timeoutMs: 0 });
  const ac = new AbortController();
  // A long-lived program started while the lock is held (as QEMU is under a guest lock).
  const sleeper = runTool(['sleep', '600'], { signal: ac.signal });
  t.teardown(() => ac.abort());
  await lease.release();
  await t.throwsAsync(lstat(hostLockPath(name)), { code: 'ENOENT' });
  const again = await acquireHostLock(name, { timeoutMs: 0 });
  await again.release();
  await t.throwsAsync(lstat(hostLockPath(name)), { code: 'ENOENT' });
  ac.abort();
  t.is((await sleeper).signal, 'SIGKILL');
});

test('never two exclusive holders: four processes take one lock 100 times each while holders die holding it', async (t) => {
  const name = unique('stress');
  const scope = unique('stress-scope');
  const marker = join(await makeTempDir(t, 'corral-lockstress-'), 'holder');
  const stress = new URL('./fixtures/hostLockStressChild.js', import.meta.url);
  const workers = Array.from({ length: 4 }, () => spawnChild(stress, [name, scope, '100', marker]));
  t.teardown(() => workers.forEach((w) => w.kill()));
  // Holders that die holding the lock leave a dead name for the workers to remove.
  for (let i = 0; i < 5; i++) {
    const victim = spawnChild(holder, [name, scope]);
    t.teardown(() => victim.kill());
    await victim.waitFor(/^locked$/, 60_000);
    victim.kill();
    await victim.exited;
  }
  const ends = await Promise.all(workers.map((w) => w.exited));
  for (const [i, w] of workers.entries()) {
    t.deepEqual(w.lines(), ['done'], `worker ${i}: ${ends[i]!.stderr}`);
    t.is(ends[i]!.code, 0);
  }
});

test('a dead holder whose removal another process blocks (it holds <hash>.lock) times out at the deadline instead of spinning', async (t) => {
  const name = unique('blocked');
  const victim = spawnChild(holder, [name]);
  t.teardown(() => victim.kill());
  await victim.waitFor(/^locked$/);
  victim.kill();
  await victim.exited;
  // The holder died: its name is left, dead. Another process takes <hash>.lock (flock(1) locks
  // this file description, which stays locked while this test keeps it open).
  const path = hostLockPath(name);
  const file = await openFile(join(dirname(path), `${basename(path, '.sock')}.lock`), 'a', 0o600);
  t.teardown(() => file.close().catch(() => undefined));
  const flock = spawn('flock', ['-x', '3'], { stdio: ['ignore', 'ignore', 'inherit', file.fd] });
  const [code] = await once(flock, 'exit');
  t.is(code, 0);
  const err = await t.throwsAsync(acquireHostLock(name, { timeoutMs: 200 }), { instanceOf: LockTimeoutError });
  t.is(err!.code, 'CORRAL_ERR_LOCK_TIMEOUT');
  // Once that process lets go, the dead name is removed and the lock taken.
  await file.close();
  await (await acquireHostLock(name, { timeoutMs: 5_000 })).release();
});

test("a holder whose name was replaced by another holder's does not remove that name on release", async (t) => {
  const directory = join(await makeTempDir(t, 'clr-'), 'l');
  const name = unique('replaced');
  const first = await acquireHostLock(name, { directory, timeoutMs: 0 });
  const path = hostLockPath(name, { directory });
  // As if the first holder's socket had died and another process had taken the lock.
  await unlink(path);
  const second = await acquireHostLock(name, { directory, timeoutMs: 0 });
  await first.release();
  t.true((await lstat(path)).isSocket(), 'the second holder keeps its name');
  await t.throwsAsync(acquireHostLock(name, { directory, timeoutMs: 0 }), { instanceOf: LockTimeoutError });
  await second.release();
  await t.throwsAsync(lstat(path), { code: 'ENOENT' });
});

test('a lock directory given with a trailing slash is the same lock directory: shared and exclusive holders still exclude each other', async (t) => {
  const directory = join(await makeTempDir(t, 'cls-'), 'l');
  const ns = unique('slash');
  const plain = new HostLockManager({ namespace: ns, directory });
  const slashed = new HostLockManager({ namespace: ns, directory: `${directory}/` });
  const shared = await plain.acquire('guest:400', { mode: 'shared', timeoutMs: 0 });
  await t.throwsAsync(slashed.acquire('guest:400', { timeoutMs: 50 }), { instanceOf: LockTimeoutError });
  await shared.release();
  const sharedSlashed = await slashed.acquire('guest:400', { mode: 'shared', timeoutMs: 0 });
  await t.throwsAsync(plain.acquire('guest:400', { timeoutMs: 50 }), { instanceOf: LockTimeoutError });
  await sharedSlashed.release();
  await (await plain.acquire('guest:400', { timeoutMs: 0 })).release();
});

/** The lowest file descriptor number a process does not use: with RLIMIT_NOFILE set to it, its next open, socket or accept fails with EMFILE. */
async function lowestFreeFd(pid: number): Promise<number> {
  const open = new Set((await readdir(`/proc/${pid}/fd`)).map(Number));
  let fd = 0;
  while (open.has(fd)) fd++;
  return fd;
}

/** Sets the soft RLIMIT_NOFILE of `pid` (the hard limit stays, so it can be raised again). */
async function setOpenFileLimit(pid: number, limit: number): Promise<void> {
  await runToolOk(['prlimit', `--pid=${pid}`, `--nofile=${limit}:`]);
}

const commandChild = new URL('./fixtures/hostLockCommandChild.js', import.meta.url);

/** A child process ready to take host lock `<what>-...` in a private lock directory on command (see hostLockCommandChild). */
async function startCommandChild(t: ExecutionContext, what: string): Promise<{ child: ReturnType<typeof spawnChild>; name: string; directory: string; pid: number }> {
  const directory = join(await makeTempDir(t, 'clm-'), 'l');
  const name = unique(what);
  const child = spawnChild(commandChild, [name, directory]);
  t.teardown(() => child.kill());
  await child.waitFor(/^ready$/);
  return { child, name, directory, pid: child.process.pid! };
}

test('a holder whose accept fails with EMFILE still excludes: waiters queue and time out, and take the lock once it releases; its lease is not lost', async (t) => {
  const { child, name, directory, pid } = await startCommandChild(t, 'emfile-holder');
  child.send('acquire');
  await child.waitFor(/^locked$/);
  // From now on every accept(2) of the holder fails with EMFILE (its lowest free fd is over the limit).
  await setOpenFileLimit(pid, await lowestFreeFd(pid));
  const err = await t.throwsAsync(acquireHostLock(name, { directory, timeoutMs: 300 }), { instanceOf: LockTimeoutError });
  t.is(err!.code, 'CORRAL_ERR_LOCK_TIMEOUT', 'the queued waiter is not let in while the holder cannot accept');
  const waiting = acquireHostLock(name, { directory, timeoutMs: 10_000 });
  child.send('release');
  await child.waitFor(/^released$/);
  const lease = await waiting;
  t.false(lease.lost.aborted);
  t.false(
    child.lines().some((l) => l.startsWith('lost')),
    `the holder's lease was not lost by EMFILE on accept (it kept the lock): ${child.lines().join(' | ')}`,
  );
  await lease.release();
});

test('a process out of file descriptors gets UnavailableError naming EMFILE when it asks for a host lock, and takes it once it has descriptors again', async (t) => {
  const { child, name, directory, pid } = await startCommandChild(t, 'emfile-waiter');
  const free = await lowestFreeFd(pid);
  await setOpenFileLimit(pid, free);
  child.send('acquire');
  const line = await child.waitFor(/^(err|locked)/);
  t.regex(line, /^err CORRAL_ERR_UNAVAILABLE host lock '.*': cannot listen on .*: this process is out of file descriptors \(EMFILE\)/);
  // Nothing is left behind: another process takes the lock at once.
  await (await acquireHostLock(name, { directory, timeoutMs: 0 })).release();
  await setOpenFileLimit(pid, 1024);
  child.send('acquire');
  await child.waitFor(/^locked$/);
  child.send('release');
  await child.waitFor(/^released$/);
});
