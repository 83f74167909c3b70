/**
 * Throw-away iSCSI targets for tests: a private `tgtd` (Debian package tgt 1.0.85) on
 * 127.0.0.1 with its own iSCSI port and management port, one target with file-backed LUNs.
 *
 * tgtd's management socket is `/var/run/tgtd/socket.<control port>`: each harness picks an
 * unused control port, so parallel test files do not meet. tgtd runs in the foreground as our
 * child and is killed by its pid (SIGKILL: it ignores SIGTERM); its socket files are removed
 * afterwards.
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool, runToolOk } from '@corral/core/testing';

/** Programs the harness and the driver's real tests need. */
export const TGT_TEST_PROGRAMS: readonly string[] = ['tgtd', 'tgtadm', 'iscsi-ls', 'iscsi-readcapacity16', 'qemu-img', 'qemu-io'];

/** A LUN to create: number and size in bytes (a sparse file). */
export interface TgtLunSpec {
  readonly lun: number;
  readonly sizeBytes: number;
}

/** A running target. */
export interface TgtTestTarget {
  /** `127.0.0.1:<port>`. */
  readonly portal: string;
  /** The target's IQN (unique per harness). */
  readonly target: string;
  /** tgtd's management port (`tgtadm -C`). */
  readonly controlPort: number;
  /** tgtd's pid. */
  readonly pid: number;
  /** The private directory holding the LUN files. */
  readonly dir: string;
  /** Backing file of a LUN. */
  lunFile(lun: number): string;
  /** Adds a file-backed LUN to the running target. */
  addLun(spec: TgtLunSpec): Promise<void>;
  /** Kills tgtd by pid, removes its socket files and the directory. Idempotent. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function unusedControlPort(): number {
  for (;;) {
    const port = 20000 + (randomBytes(2).readUInt16BE() % 12000); // tgtd refuses -C above 32767
    if (!existsSync(`/var/run/tgtd/socket.${port}`)) return port;
  }
}

/**
 * Starts tgtd and creates one target with `luns` (files in a fresh directory under `parent`),
 * bound to every initiator. Waits until tgtd answers on its management socket (it polls
 * `tgtadm --op show`; tgtd prints nothing when ready), failing if tgtd exits first.
 */
export async function createTgtTestTarget(options: { parent: string; luns: readonly TgtLunSpec[] }): Promise<TgtTestTarget> {
  const dir = await mkdtemp(join(options.parent, 'tgt-'));
  const port = await freePort();
  const controlPort = unusedControlPort();
  const target = `iqn.2026-12.org.corral.test:${randomBytes(4).toString('hex')}`;
  const child: ChildProcess = spawn('tgtd', ['-f', '-C', String(controlPort), '--iscsi', `portal=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const adm = (...args: string[]) => ['tgtadm', '-C', String(controlPort), '--lld', 'iscsi', ...args];
  const stop = async (): Promise<void> => {
    if (!exited && child.pid) {
      // tgtd catches SIGTERM and keeps running; `tgtadm --op delete --mode system` refuses
      // while targets exist. Its LUNs are plain files written with pwrite: SIGKILL loses nothing.
      process.kill(child.pid, 'SIGKILL');
      await exit;
    }
    await rm(`/var/run/tgtd/socket.${controlPort}`, { force: true });
    await rm(`/var/run/tgtd/socket.${controlPort}.lock`, { force: true });
    await rm(dir, { recursive: true, force: true });
  };
  const lunFile = (lun: number) => join(dir, `lun${lun}.img`);
  const addLun = async (spec: TgtLunSpec): Promise<void> => {
    await writeFile(lunFile(spec.lun), '');
    await truncate(lunFile(spec.lun), spec.sizeBytes);
    await runToolOk(adm('--mode', 'logicalunit', '--op', 'new', '--tid', '1', '--lun', String(spec.lun), '--backing-store', lunFile(spec.lun)));
  };
  try {
    for (;;) {
      if (exited) throw new Error(`tgtd exited before it answered: ${stderr}`);
      const r = await runTool(['tgtadm', '-C', String(controlPort), '--mode', 'system', '--op', 'show'], { timeoutMs: 10_000 });
      if (r.exitCode === 0) break;
      await Promise.race([exit, sleep(50)]);
    }
    await runToolOk(adm('--mode', 'target', '--op', 'new', '--tid', '1', '--targetname', target));
    for (const l of options.luns) await addLun(l);
    await runToolOk(adm('--mode', 'target', '--op', 'bind', '--tid', '1', '--initiator-address', 'ALL'));
  } catch (err) {
    await stop();
    throw err;
  }
  return { portal: `127.0.0.1:${port}`, target, controlPort, pid: child.pid!, dir, lunFile, addLun, stop };
}
