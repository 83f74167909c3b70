import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmod, link, lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { parseContainerConfig } from '../../src/config/parseContainerConfig.js';
import { DEFAULT_UNPRIVILEGED_IDMAP } from '../../src/config/idmap.js';
import { RootfsFiles } from '../../src/setup/RootfsFiles.js';
import { sha512Crypt } from '../../src/setup/sha512Crypt.js';
import { detectOstype, replaceManagedBlock, setRootPassword, setRootSshKeys, setupContainerFiles } from '../../src/setup/setupContainerFiles.js';
import { shiftOwnership } from '../../src/setup/shiftOwnership.js';

// Vectors from Drepper's SHA-crypt specification (sha-crypt.txt, "Test vectors").
const vectors = [
  { salt: 'saltstring', password: 'Hello world!', rounds: undefined, hash: '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1' },
  { salt: 'rounds=10000$saltstringsaltstring', password: 'Hello world!', rounds: 10000, hash: '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.' },
  { salt: 'rounds=5000$toolongsaltstring', password: 'This is just a test', rounds: 5000, hash: '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0' },
];

for (const v of vectors) {
  test(`sha512Crypt matches the specification's vector for salt '${v.salt}'`, (t) => {
    const salt = v.salt.replace(/^rounds=\d+\$/, '');
    t.is(sha512Crypt(v.password, { salt, rounds: v.rounds }), v.hash);
  });
}

// Without openssl the comparison cannot run: it fails in CI (CORRAL_REQUIRE_REAL=1) and is a
// visible skip elsewhere, never a pass.
realTest(test, hasProgram('openssl'), 'openssl is not installed')('sha512Crypt agrees with openssl passwd -6', (t) => {
  const ours = sha512Crypt('corral secret ü', { salt: 'AbCdEfGh12345678' });
  const theirs = execFileSync('openssl', ['passwd', '-6', '-salt', 'AbCdEfGh12345678', '-stdin'], { input: 'corral secret ü' }).toString().trim();
  t.is(ours, theirs);
  t.regex(sha512Crypt('x'), /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
});

test('RootfsFiles resolves symlinks as chroot does and never leaves the rootfs', async (t) => {
  const dir = await makeTempDir(t, 'corral-lxc-rootfs-');
  const root = join(dir, 'root');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'run'), { recursive: true });
  await writeFile(join(dir, 'host-secret'), 'host');
  // Hostile links: absolute to the host's file, relative climbing out, a loop.
  await symlink(join(dir, 'host-secret'), join(root, 'etc', 'abs-escape'));
  await symlink('../../../host-secret', join(root, 'etc', 'rel-escape'));
  await symlink('/run/resolv.conf', join(root, 'etc', 'resolv.conf'));
  await symlink('loop2', join(root, 'etc', 'loop1'));
  await symlink('loop1', join(root, 'etc', 'loop2'));
  const files = new RootfsFiles(root, { uid: 0, gid: 0 });

  t.is(await files.resolve('/etc/abs-escape'), join(root, dir.slice(1), 'host-secret'));
  t.is(await files.resolve('/etc/rel-escape'), join(root, 'host-secret'));
  await files.write('/etc/rel-escape', 'inside');
  await files.write('/etc/abs-escape', 'inside');
  t.is(await readFile(join(dir, 'host-secret'), 'utf8'), 'host');
  t.is(await readFile(join(root, 'host-secret'), 'utf8'), 'inside');

  await files.write('/etc/resolv.conf', 'nameserver 192.0.2.53\n');
  t.is(await readFile(join(root, 'run', 'resolv.conf'), 'utf8'), 'nameserver 192.0.2.53\n');
  t.is(await readlink(join(root, 'etc', 'resolv.conf')), '/run/resolv.conf');
  await t.throwsAsync(files.resolve('/etc/loop1'), { code: 'CORRAL_ERR_INVALID_STATE' });
});

test('setupContainerFiles writes hostname, a managed hosts block, resolv.conf and the interfaces file', async (t) => {
  const root = await makeTempDir(t, 'corral-lxc-setup-');
  await mkdir(join(root, 'etc', 'network'), { recursive: true });
  await writeFile(join(root, 'etc', 'hosts'), '127.0.0.1\tlocalhost\n');
  const config = parseContainerConfig({
    rootfs: 'local:1',
    hostname: 'web1',
    searchdomain: 'example.test',
    nameserver: '192.0.2.53 2001:db8::53',
    net0: 'name=eth0,bridge=vmbr0,ip=10.0.0.2/24',
    net1: 'name=eth1,ip=dhcp',
  });
  const files = new RootfsFiles(root);
  await setupContainerFiles(files, config, 100);
  await setupContainerFiles(files, config, 100);
  t.is(await readFile(join(root, 'etc', 'hostname'), 'utf8'), 'web1\n');
  t.is(await readFile(join(root, 'etc', 'hosts'), 'utf8'), '127.0.0.1\tlocalhost\n# --- BEGIN CORRAL ---\n127.0.1.1\tweb1.example.test web1\n# --- END CORRAL ---\n');
  t.is(await readFile(join(root, 'etc', 'resolv.conf'), 'utf8'), '# Written by Corral from the container config (nameserver, searchdomain).\nsearch example.test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n');
  const ifaces = await readFile(join(root, 'etc', 'network', 'interfaces'), 'utf8');
  t.true(ifaces.includes('iface eth0 inet manual'));
  t.true(ifaces.includes('iface eth1 inet dhcp'));
  t.is(replaceManagedBlock('a\n# --- BEGIN CORRAL ---\nold\n# --- END CORRAL ---\nb\n', 'new\n'), 'a\n# --- BEGIN CORRAL ---\nnew\n# --- END CORRAL ---\nb\n');
});

test('unmanaged containers get no files', async (t) => {
  const root = await makeTempDir(t, 'corral-lxc-unmanaged-');
  await setupContainerFiles(new RootfsFiles(root), parseContainerConfig({ rootfs: 'local:1', ostype: 'unmanaged', hostname: 'x' }), 100);
  await t.throwsAsync(stat(join(root, 'etc', 'hostname')));
});

test('root password and SSH keys, owned by the container root', async (t) => {
  const root = await makeTempDir(t, 'corral-lxc-auth-');
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc', 'shadow'), 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n');
  const files = new RootfsFiles(root, { uid: 100000, gid: 100000 });
  await setRootPassword(files, 'secret123');
  const line = (await readFile(join(root, 'etc', 'shadow'), 'utf8')).split('\n')[0]!;
  const hash = line.split(':')[1]!;
  t.regex(hash, /^\$6\$/);
  const salt = hash.split('$')[2]!;
  t.is(sha512Crypt('secret123', { salt }), hash);
  await setRootSshKeys(files, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake test@corral');
  const st = await stat(join(root, 'root', '.ssh', 'authorized_keys'));
  t.is(st.uid, 100000);
  t.is(st.mode & 0o777, 0o600);
  t.is((await stat(join(root, 'root', '.ssh'))).mode & 0o777, 0o700);
});

test('shiftOwnership maps owners once per inode and keeps set-uid bits', async (t) => {
  const root = await makeTempDir(t, 'corral-lxc-shift-');
  await mkdir(join(root, 'bin'));
  await writeFile(join(root, 'bin', 'su'), 'x');
  await chmod(join(root, 'bin', 'su'), 0o4755);
  await link(join(root, 'bin', 'su'), join(root, 'bin', 'su-hardlink'));
  await symlink('/bin/su', join(root, 'bin', 'su-link'));
  await writeFile(join(root, 'owned-by-1000'), 'x');
  execFileSync('chown', ['1000:1001', join(root, 'owned-by-1000')]);
  const r = await shiftOwnership(root, DEFAULT_UNPRIVILEGED_IDMAP);
  t.is(r.unmapped, 0);
  const su = await stat(join(root, 'bin', 'su'));
  t.is(su.uid, 100000);
  t.is(su.mode & 0o7777, 0o4755);
  t.is((await lstat(join(root, 'bin', 'su-link'))).uid, 100000);
  t.is((await stat(join(root, 'owned-by-1000'))).uid, 101000);
  t.is((await stat(join(root, 'owned-by-1000'))).gid, 101001);
  t.is((await stat(root)).uid, 100000);
});

test('detectOstype reads os-release', async (t) => {
  const root = await makeTempDir(t, 'corral-lxc-ostype-');
  const files = new RootfsFiles(root);
  t.is(await detectOstype(files), undefined);
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc', 'os-release'), 'PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n');
  t.is(await detectOstype(files), 'debian');
});
