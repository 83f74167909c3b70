/**
 * The program LXC runs as `lxc.hook.start-host` for a container with bridged NICs:
 * `node startHostHook.js <socket> <nics.json> <name> lxc start-host` (LXC appends the last
 * three). It runs in the host's namespaces once LXC created the veths, before the container's
 * init; LXC fails the start when it exits non-zero.
 *
 * - When the kernel that runs `lxc-start` listens on `<socket>` (see `NicPlugServer`), it asks
 *   the kernel to plug the NICs (core's NIC plugging with the plugins' hooks) and waits for the
 *   answer.
 * - When nobody listens (LXC restarting the container after a reboot from inside, with no
 *   kernel involved), it plugs the NICs recorded in `<nics.json>` at the last start (bridges as
 *   the hooks resolved them) with core's Linux-bridge plugger alone.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { LinuxBridgeNicPlugger, NodeCommandRunner, type Logger } from '@corral/core';
import type { ContainerNics } from './ContainerRunDir.js';

/** Asks the kernel; resolves with its answer line, or `undefined` when nobody listens. */
function askKernel(socketPath: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const conn = connect(socketPath);
    let answer = '';
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => (answer += d));
    conn.on('end', () => resolve(answer.trim()));
    conn.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? resolve(undefined) : reject(err)));
  });
}

/** Plugs the recorded NICs with core's plugger (no plugin hooks: no kernel runs them). */
async function plugRecorded(nicsFile: string): Promise<void> {
  const { plugged } = JSON.parse(await readFile(nicsFile, 'utf8')) as ContainerNics;
  const log: Logger = { debug() {}, info() {}, warn: (m) => process.stderr.write(`warning: ${m}\n`), error: (m) => process.stderr.write(`${m}\n`) };
  const plugger = new LinuxBridgeNicPlugger();
  const ctx = { node: '', runner: new NodeCommandRunner(), log };
  for (const nic of plugged) await plugger.plug(ctx, nic);
}

async function main(argv: readonly string[]): Promise<number> {
  const [socketPath, nicsFile] = argv;
  if (!socketPath || !nicsFile) {
    process.stderr.write('usage: startHostHook <socket> <nics.json> [lxc hook arguments]\n');
    return 2;
  }
  const answer = await askKernel(socketPath);
  if (answer === undefined) {
    await plugRecorded(nicsFile);
    return 0;
  }
  if (answer === 'ok') return 0;
  process.stderr.write(`plugging the container's NICs failed: ${answer.replace(/^error /, '')}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`plugging the container's NICs failed: ${err.message}\n`);
    process.exit(1);
  },
);
