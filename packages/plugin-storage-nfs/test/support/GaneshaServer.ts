/**
 * A private NFS server for tests: nfs-ganesha (VFS backend) exporting one directory on
 * 127.0.0.1 with `Mount_Path_Pseudo = true` (the NFSv3 mount path and the NFSv4 pseudo path are
 * the directory's own path), with its own config, log, recovery directory and ports, run in
 * the foreground as a child and stopped by its pid. rpcbind is needed for clients to find the
 * ports (libnfs, showmount); it is started too when none answers, and then stopped by pid.
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '@corral/core/testing';
import { stopChild, waitFor } from './childProcesses.js';

/** Programs the server and its clients need (Debian: nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common libnfs-utils). */
export const GANESHA_TEST_PROGRAMS = ['ganesha.nfsd', 'rpcbind', 'rpcinfo', 'showmount', 'nfs-ls', 'qemu-img', 'qemu-io', 'qemu-system-x86_64'] as const;

/** A running server. */
export interface GaneshaServer {
  /** The exported directory (also its export path on the server). */
  readonly exportDir: string;
  /** A second exported directory (`<dir>/export2`), for a second storage. */
  readonly exportDir2: string;
  readonly server: '127.0.0.1';
  /** NFS port ganesha listens on (registered with rpcbind). */
  readonly nfsPort: number;
  /** Stops ganesha (and rpcbind when this server started it), by pid, waiting for them to exit. */
  stop(): Promise<void>;
}

async function rpcbindAnswers(): Promise<boolean> {
  const r = await runTool(['rpcinfo', '-p', '127.0.0.1'], {
    timeoutMs: 10_000,
  });
  return r.exitCode === 0;
}

/**
 * Starts ganesha exporting `<dir>/export` and `<dir>/export2` (created). `dir` is private to the caller and holds
 * the config, log and recovery directory.
 */
export async function startGaneshaServer(dir: string): Promise<GaneshaServer> {
  const exportDir = join(dir, 'export');
  const exportDir2 = join(dir, 'export2');
  await mkdir(exportDir, { recursive: true });
  await mkdir(exportDir2, { recursive: true });
  await mkdir(join(dir, 'recovery'), { recursive: true });
  const nfsPort = 20000 + Math.floor(Math.random() * 20000);
  const conf = join(dir, 'ganesha.conf');
  await writeFile(
    conf,
    `NFS_CORE_PARAM {
  NFS_Port = ${nfsPort}; MNT_Port = ${nfsPort + 1}; NLM_Port = ${nfsPort + 2}; Rquota_Port = ${nfsPort + 3};
  Bind_addr = 127.0.0.1; Enable_NLM = false; Enable_RQUOTA = false; Mount_Path_Pseudo = true; Protocols = 3, 4;
}
NFSV4 { Graceless = true; RecoveryBackend = fs; RecoveryRoot = "${join(dir, 'recovery')}"; }
NFS_KRB5 { Active_krb5 = false; }
${[exportDir, exportDir2]
  .map(
    (d, i) => `EXPORT {
  Export_Id = ${i + 1}; Path = "${d}"; Pseudo = "${d}";
  Access_Type = RW; Squash = No_Root_Squash; SecType = sys; Protocols = 3, 4; Transports = TCP;
  FSAL { Name = VFS; }
}
`
  )
  .join('')}`
  );
  let rpcbind: ChildProcess | undefined;
  if (!(await rpcbindAnswers())) {
    rpcbind = spawn('rpcbind', ['-w', '-f'], { stdio: 'ignore' });
    await waitFor('rpcbind answering', rpcbindAnswers);
  }
  const ganesha = spawn('ganesha.nfsd', ['-F', '-f', conf, '-L', join(dir, 'ganesha.log'), '-p', join(dir, 'ganesha.pid'), '-N', 'NIV_EVENT'], {
    stdio: 'ignore',
  });
  const stop = async () => {
    await stopChild(ganesha);
    await stopChild(rpcbind);
  };
  try {
    await waitFor('ganesha exporting ' + exportDir, async () => {
      if (ganesha.exitCode !== null) throw new Error(`ganesha.nfsd exited with ${ganesha.exitCode}; see ${join(dir, 'ganesha.log')}`);
      const r = await runTool(['showmount', '--no-headers', '--exports', '127.0.0.1'], { timeoutMs: 10_000 });
      return r.exitCode === 0 && r.stdout.split('\n').some((l) => l.split(/\s+/)[0] === exportDir);
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { exportDir, exportDir2, server: '127.0.0.1', nfsPort, stop };
}
