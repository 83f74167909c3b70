import test from 'ava';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, ROOT_CALLER, isShareMounted, KernelShareMounter, parseProcMounts } from '@corral/core';
import { createTestKernel, makeTempDir, RecordingCommandRunner } from '@corral/core/testing';
import {
  cifsMountArgv,
  cifsProbeArgv,
  cifsShareMount,
  cifsShareReachable,
  createStorageCifsPlugin,
  type CifsMountSpec,
} from '../src/index.js';
import { nfsFixture } from './support/nfsFixtures.js';

// The kernel CIFS client cannot work on this machine (mount error 19, recorded): the mount
// argv is checked with a RecordingCommandRunner answering recorded output; pve's cifs_mount is the reference.

const spec: CifsMountSpec = { server: 'nas.lan', share: 'pve', subdir: '', path: '/mnt/pve/smb', credentialsFile: '/run/corral/smb/cifs-credentials' };

test('mount argv follows pve cifs_mount: guest, password with domain, kerberos, smbversion, options, subdir, IPv6', (t) => {
  t.deepEqual(cifsMountArgv(spec), ['mount', '-t', 'cifs', '//nas.lan/pve', '/mnt/pve/smb', '-o', 'soft', '-o', 'guest,username=guest', '-o', 'vers=default']);
  t.deepEqual(cifsMountArgv({ ...spec, username: 'pve', password: 'pw', domain: 'CORP', smbversion: '3.11', mountOptions: 'noserverino' }), [
    'mount',
    '-t',
    'cifs',
    '//nas.lan/pve',
    '/mnt/pve/smb',
    '-o',
    'soft',
    '-o',
    'username=pve',
    '-o',
    'credentials=/run/corral/smb/cifs-credentials',
    '-o',
    'domain=CORP',
    '-o',
    'vers=3.11',
    '-o',
    'noserverino',
  ]);
  t.deepEqual(
    cifsMountArgv({ ...spec, username: 'pve', password: 'pw', mountOptions: 'sec=krb5i' }),
    ['mount', '-t', 'cifs', '//nas.lan/pve', '/mnt/pve/smb', '-o', 'soft', '-o', 'vers=default', '-o', 'sec=krb5i'],
    'kerberos: no username, no credentials'
  );
  t.is(cifsMountArgv({ ...spec, subdir: '/vm/store' })[3], '//nas.lan/pve/vm/store');
  t.is(cifsMountArgv({ ...spec, server: 'fd00::5' })[3], '//[fd00::5]/pve');
});

test('the credentials file holds only the password; none for guest or kerberos', (t) => {
  t.deepEqual(cifsShareMount({ ...spec, username: 'pve', password: 'pw' }).files, [{ path: spec.credentialsFile, content: 'password=pw\n' }]);
  t.is(cifsShareMount(spec).files, undefined);
  t.is(cifsShareMount({ ...spec, password: 'pw', mountOptions: 'sec=krb5' }).files, undefined);
});

test('is-mounted needs a cifs entry of //server/share[subdir] on exactly the path', (t) => {
  const mounts = parseProcMounts('//nas.lan/pve/vm /mnt/pve/smb cifs rw,vers=3.1.1 0 0\n//nas.lan/pve /mnt/pve/other cifs rw 0 0\n');
  t.true(isShareMounted(cifsShareMount({ ...spec, subdir: '/vm' }), mounts));
  t.false(isShareMounted(cifsShareMount(spec), mounts), 'without the subdir it is another source');
  t.false(isShareMounted(cifsShareMount({ ...spec, subdir: '/vm' }), parseProcMounts('//nas.lan/pve/vm /mnt/pve/smb nfs rw 0 0')), 'not cifs');
});

test('a share that refuses the credentials is InvalidConfigError before any mount', async (t) => {
  const dir = await makeTempDir(t, 'corral-cifs-argv-');
  const mountsFile = join(dir, 'mounts');
  await writeFile(mountsFile, '');
  const runner = new RecordingCommandRunner([{ match: { prefix: ['smbclient'] }, ...nfsFixture('smbclient-probe-logon-failure.txt') }]);
  const kernel = await createTestKernel(t, { plugins: [createStorageCifsPlugin({ mounter: new KernelShareMounter(mountsFile) })], commandRunner: runner });
  await kernel.storage.add(
    'smb',
    'cifs',
    { server: '127.0.0.1', share: 'corral', path: join(dir, 'smb'), username: 'root', password: 'wrong' },
    { caller: ROOT_CALLER }
  );
  await t.throwsAsync(kernel.storage.activate('smb'), { code: ErrorCodes.invalidConfig, message: /LOGON_FAILURE/ });
  t.false(runner.argvs.some((a) => a[0] === 'mount'));
});

test('the probe is pve check_connection smbclient; a refused password is InvalidConfigError, a missing share unreachable', async (t) => {
  const withPw = { ...spec, username: 'root', password: 'x', domain: 'CORP', smbversion: '3.0' };
  t.deepEqual(cifsProbeArgv(withPw), [
    'smbclient',
    '//nas.lan/pve',
    '-d',
    '0',
    '-m',
    'smb3',
    '-U',
    'root',
    '-A',
    spec.credentialsFile,
    '-W',
    'CORP',
    '-c',
    'echo 1 0',
  ]);
  t.deepEqual(cifsProbeArgv(spec), ['smbclient', '//nas.lan/pve', '-d', '0', '-U', 'Guest', '-N', '-c', 'echo 1 0']);
  const dir = await makeTempDir(t, 'corral-cifs-probe-');
  const s = { ...withPw, credentialsFile: join(dir, 'cred') };
  const answer = (name: string) => new RecordingCommandRunner([{ match: { prefix: ['smbclient'] }, ...nfsFixture(name) }]);
  t.true(await cifsShareReachable(answer('smbclient-probe-ok.txt'), s));
  t.false(await cifsShareReachable(answer('smbclient-probe-missing-share.txt'), s));
  await t.throwsAsync(cifsShareReachable(answer('smbclient-probe-logon-failure.txt'), s), { code: ErrorCodes.invalidConfig, message: /LOGON_FAILURE/ });
  t.is(await readFile(s.credentialsFile, 'utf8'), 'password=x\n', 'the probe wrote the credentials file');
  t.is((await stat(s.credentialsFile)).mode & 0o777, 0o600);
});

test('activate mounts with the password in a 0600 credentials file in the run directory, never in storage.cfg; a failed mount is UnavailableError', async (t) => {
  const dir = await makeTempDir(t, 'corral-cifs-argv-');
  const mountsFile = join(dir, 'mounts');
  await writeFile(mountsFile, '');
  const runner = new RecordingCommandRunner([
    { match: { prefix: ['smbclient'] }, ...nfsFixture('smbclient-probe-ok.txt') },
    { match: { prefix: ['mount'] }, ...nfsFixture('mount-cifs-failure.txt') },
  ]);
  const kernel = await createTestKernel(t, { plugins: [createStorageCifsPlugin({ mounter: new KernelShareMounter(mountsFile) })], commandRunner: runner });
  const path = join(dir, 'smb');
  await kernel.storage.add(
    'smb',
    'cifs',
    { server: '127.0.0.1', share: 'corral', path, username: 'root', password: 'top-secret', smbversion: '3' },
    { caller: ROOT_CALLER }
  );
  t.false((await kernel.config.read('storage.cfg'))!.content.includes('top-secret'), 'the password is not in storage.cfg');
  const err = await t.throwsAsync(kernel.storage.activate('smb'), { code: ErrorCodes.unavailable });
  t.regex(err!.message, /storage 'smb'.*\/\/127\.0\.0\.1\/corral.*No such device/s);
  t.deepEqual(runner.argvs[0]!.slice(0, 7), ['smbclient', '//127.0.0.1/corral', '-d', '0', '-m', 'smb3', '-U'], 'pve check_connection first');
  const argv = runner.argvs.find((a) => a[0] === 'mount')!;
  const cred = argv.find((a) => a.startsWith('credentials='))!.slice('credentials='.length);
  t.deepEqual(argv, ['mount', '-t', 'cifs', '//127.0.0.1/corral', path, '-o', 'soft', '-o', 'username=root', '-o', `credentials=${cred}`, '-o', 'vers=3']);
  t.is(await readFile(cred, 'utf8'), 'password=top-secret\n');
  t.is((await stat(cred)).mode & 0o777, 0o600);
  t.false((await kernel.storage.status('smb')).active);
});
