/**
 * A private SMB server for tests: Samba's smbd on 127.0.0.1:445 (the port smbclient and
 * mount.cifs use without options) with its own config, state directories and password
 * database, sharing `<dir>/share` and `<dir>/share2` as `corral` and `corral2` (guest allowed;
 * user `root` has password {@link SMBD_TEST_PASSWORD} in the private passdb, nothing is added
 * to the host's users). Run in the foreground as a child and stopped by its pid.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool, runToolOk } from '@corral/core/testing';
import { stopChild, waitFor } from './childProcesses.js';

/** Programs the server and its clients need (Debian: samba smbclient cifs-utils). */
export const SMBD_TEST_PROGRAMS = ['smbd', 'smbpasswd', 'smbclient', 'qemu-img'] as const;

/** The password of user `root` in the server's private passdb. */
export const SMBD_TEST_PASSWORD = 'corral-s3cret';

/** A running server. */
export interface SmbdServer {
  readonly server: '127.0.0.1';
  /** Directories of shares `corral` and `corral2`. */
  readonly shareDir: string;
  readonly shareDir2: string;
  stop(): Promise<void>;
}

/** Starts smbd in `dir` (private to the caller). */
export async function startSmbdServer(dir: string): Promise<SmbdServer> {
  const sub = (n: string) => join(dir, n);
  for (const d of ['share', 'share2', 'private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'log']) await mkdir(sub(d), { recursive: true });
  const conf = sub('smb.conf');
  await writeFile(
    conf,
    `[global]
  interfaces = 127.0.0.1
  bind interfaces only = yes
  smb ports = 445
  disable netbios = yes
  server role = standalone server
  private dir = ${sub('private')}
  lock directory = ${sub('lock')}
  state directory = ${sub('state')}
  cache directory = ${sub('cache')}
  pid directory = ${sub('pid')}
  ncalrpc dir = ${sub('ncalrpc')}
  log file = ${sub('log')}/smbd.log
  map to guest = Bad User
  guest account = root
  load printers = no
  printcap name = /dev/null
  disable spoolss = yes
[corral]
  path = ${sub('share')}
  guest ok = yes
  read only = no
[corral2]
  path = ${sub('share2')}
  guest ok = yes
  read only = no
`
  );
  await runToolOk(['smbpasswd', '-c', conf, '-a', '-s', 'root'], { input: `${SMBD_TEST_PASSWORD}\n${SMBD_TEST_PASSWORD}\n` });
  // detached: smbd signals its whole process group when it shuts down; its own group keeps
  // that away from the test runner.
  const smbd = spawn('smbd', ['--foreground', '--no-process-group', `--configfile=${conf}`], { stdio: 'ignore', detached: true });
  const stop = () => stopChild(smbd);
  try {
    await waitFor('smbd serving //127.0.0.1/corral', async () => {
      if (smbd.exitCode !== null) throw new Error(`smbd exited with ${smbd.exitCode}; see ${sub('log')}/smbd.log (is port 445 taken?)`);
      return (await runTool(['smbclient', '//127.0.0.1/corral', '-d', '0', '-U', 'Guest', '-N', '-c', 'echo 1 0'], { timeoutMs: 10_000 })).exitCode === 0;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { server: '127.0.0.1', shareDir: sub('share'), shareDir2: sub('share2'), stop };
}
