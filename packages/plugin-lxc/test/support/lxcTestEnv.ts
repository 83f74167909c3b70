/**
 * Test environment for real LXC containers: a kernel with the dir storage and LXC plugins, a
 * dir storage `local` (content rootdir,vztmpl) in a private temp dir holding the busybox
 * template, unique guest ids, a private bridge with a private address, and cleanup of every
 * container by pid.
 */
import type { ExecutionContext } from 'ava';
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, appendFileSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createKernel, type CorralPlugin, type Kernel, ROOT_CALLER } from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, uniqueName, type TestKernel } from '@corral/core/testing';
import { storageDirPlugin } from '@corral/plugin-storage-dir';
import { lxcPlugin } from '../../src/index.js';

export const execFile = promisify(execFileCb);

/** True when LXC can run here (tools installed, running as root). */
export const lxcAvailable = hasProgram('lxc-start') && hasProgram('lxc-attach') && process.getuid?.() === 0;
export const lxcMissingReason = 'LXC (lxc-start, lxc-attach) is not installed or the tests do not run as root';

/** The repository root (tests run from packages/plugin-lxc/dist/test/support). */
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..');

/** Path of the busybox template, built (about 0.1 s) when missing. */
export function busyboxTemplate(): string {
  const cache = process.env.CORRAL_CACHE_DIR ?? join(repoRoot, '.cache');
  const file = join(cache, 'lxc', 'busybox.tar.gz');
  if (!existsSync(file)) {
    execFileSync('bash', [join(repoRoot, 'packages', 'plugin-lxc', 'scripts', 'build-busybox-template.sh')], { stdio: 'ignore' });
  }
  return file;
}

/**
 * Where uidmap's newuidmap is installed, LXC maps ids through it even as root, and it needs
 * root's range in /etc/subuid and /etc/subgid (Proxmox VE hosts have `root:100000:65536`).
 * Adds that line when missing (never removed: other tests may be using it).
 */
export function ensureRootSubordinateIds(): void {
  if (!hasProgram('newuidmap')) return;
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (!/^root:100000:65536$/m.test(text)) appendFileSync(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}root:100000:65536\n`);
  }
}

/** A guest id unlikely to collide with other tests' (veth names `veth<vmid>i<n>` stay within 15 characters). */
export function randomVmid(): number {
  return 200000 + Math.floor(Math.random() * 700000);
}

/** What {@link lxcEnv} sets up. */
export interface LxcEnv {
  readonly kernel: TestKernel;
  /** The dir storage's directory. */
  readonly storePath: string;
  readonly template: string;
  /** Stops a container by pid at teardown (registered for every guest a test creates). */
  track(vmid: number): void;
}

/** Stops whatever runs as container `vmid` under `runDir`, by pid: lxc-stop -k, then SIGKILL to monitor and init. */
export async function killContainer(runDir: string, vmid: number): Promise<void> {
  const lxcPath = join(runDir, 'lxc');
  const dir = join(lxcPath, String(vmid));
  const pids: number[] = [];
  for (const f of ['monitor.pid']) {
    try {
      pids.push(Number((await readFile(join(dir, f), 'utf8')).trim()));
    } catch {
      // none
    }
  }
  try {
    pids.push((JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { initPid: number }).initPid);
  } catch {
    // none
  }
  if (pids.length === 0) return;
  await execFile('lxc-stop', ['-P', lxcPath, '-n', String(vmid), '-k'], { timeout: 10_000 }).catch(() => undefined);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * A kernel with dir storage `local` holding the busybox template as `local:vztmpl/busybox.tar.gz`.
 * `extraPlugins` (e.g. another storage type) are loaded besides the dir storage and LXC plugins.
 */
export async function lxcEnv(t: ExecutionContext, options: { extraPlugins?: CorralPlugin[] } = {}): Promise<LxcEnv> {
  ensureRootSubordinateIds();
  const template = busyboxTemplate();
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin, ...(options.extraPlugins ?? []), lxcPlugin] });
  // The container's root (uid 100000) must be able to pass through every directory above its rootfs.
  await chmod(kernel.dir, 0o711);
  const storeParent = await makeTempDir(t, 'corral-lxc-store-');
  await chmod(storeParent, 0o711);
  const storePath = join(storeParent, 'store');
  await kernel.storage.add('local', 'dir', { path: storePath, content: 'rootdir,vztmpl' }, { caller: ROOT_CALLER });
  await kernel.storage.upload({ storage: 'local', content: 'vztmpl', filename: 'busybox.tar.gz', stream: createReadStream(template) });
  const tracked: number[] = [];
  const runDir = join(kernel.dir, 'run');
  t.teardown(async () => {
    for (const vmid of tracked) await killContainer(runDir, vmid);
  });
  return { kernel, storePath, template, track: (vmid) => tracked.push(vmid) };
}

/** A second kernel on the same data and run directories (a restarted process re-attaching). */
export async function reopenKernel(env: LxcEnv): Promise<Kernel> {
  return createKernel({ node: 'testnode', dataDir: join(env.kernel.dir, 'data'), runDir: join(env.kernel.dir, 'run'), plugins: [storageDirPlugin, lxcPlugin] });
}

/**
 * A network namespace with address `ip`/24 on a veth whose other end is in `bridge` (a peer
 * host on the bridge); removed at teardown.
 */
export async function peerNamespace(t: ExecutionContext, bridge: string, ip: string): Promise<{ name: string; ip: string }> {
  const name = uniqueName('corns');
  const outside = uniqueName('cpo').slice(0, 15);
  const inside = uniqueName('cpi').slice(0, 15);
  await execFile('ip', ['netns', 'add', name]);
  t.teardown(() => execFile('ip', ['netns', 'del', name]).catch(() => undefined));
  await execFile('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
  t.teardown(() => execFile('ip', ['link', 'del', outside]).catch(() => undefined));
  await execFile('ip', ['link', 'set', inside, 'netns', name]);
  await execFile('ip', ['link', 'set', outside, 'master', bridge, 'up']);
  await execFile('ip', ['-n', name, 'addr', 'add', `${ip}/24`, 'dev', inside]);
  await execFile('ip', ['-n', name, 'link', 'set', inside, 'up']);
  return { name, ip };
}

/** A private bridge `corbr<hex>` with host address `<net>.1/24` in 10.x; removed at teardown. */
export async function privateBridge(t: ExecutionContext): Promise<{ name: string; net: string; hostIp: string }> {
  const name = uniqueName('corbr').slice(0, 15);
  const net = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}`;
  await execFile('ip', ['link', 'add', name, 'type', 'bridge']);
  t.teardown(() => execFile('ip', ['link', 'del', name]).catch(() => undefined));
  await execFile('ip', ['addr', 'add', `${net}.1/24`, 'dev', name]);
  await execFile('ip', ['link', 'set', name, 'up']);
  return { name, net, hostIp: `${net}.1` };
}
