/**
 * A kernel for the cross-package tests on a data dir that other processes can open too: the
 * dir storage (`local`: images, rootdir, iso, vztmpl), QEMU (no resource control, so no
 * cgroups are touched) and LXC.
 *
 * @packageDocumentation
 */
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKernel, ROOT_CALLER, type CorralPlugin, type Kernel, type KernelOptions } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';
import { createKvmPlugin } from '@corral/plugin-kvm';
import { lxcPlugin } from '@corral/plugin-lxc';
import { storageDirPlugin } from '@corral/plugin-storage-dir';

/** The plugins every kernel of these tests loads. */
export function testPlugins(): CorralPlugin[] {
  return [storageDirPlugin, createKvmPlugin({ resourceControl: { mode: 'none' } }), lxcPlugin];
}

/** Data and run dirs of a node under `base`. */
export function nodeDirs(base: string): { dataDir: string; runDir: string; storePath: string } {
  return { dataDir: join(base, 'data'), runDir: join(base, 'run'), storePath: join(base, 'store') };
}

/** Opens (or creates) the kernel of the node under `base`; `extra` replaces kernel options. */
export function openNodeKernel(base: string, extra: Partial<KernelOptions> = {}): Promise<Kernel> {
  const { dataDir, runDir } = nodeDirs(base);
  return createKernel({ node: 'testnode', dataDir, runDir, plugins: testPlugins(), ...extra });
}

/** A node of one test: its base dir (for child processes) and its kernel. */
export interface TestNode {
  readonly base: string;
  readonly kernel: Kernel;
}

/**
 * A fresh node in a private temp dir with the `local` dir storage: when the test ends, the
 * guests it left running are stopped, the kernel is disposed and the dir removed.
 */
export async function openTestNode(t: ExecutionContext, prefix = 'corral-node-'): Promise<TestNode> {
  const base = await makeTempDir(t, prefix);
  const kernel = await openNodeKernel(base);
  t.teardown(async () => {
    for (const g of await kernel.guests.list().catch(() => [])) {
      if (g.status !== 'stopped') await kernel.guests.stop(g.vmid).catch(() => undefined);
    }
    await kernel.dispose();
  });
  await addLocalStorage(kernel, base);
  return { base, kernel };
}

/**
 * Writes `bytes` of non-zero data over the start of the file at `path`, 4 MiB chunks, chunk
 * `i` filled with byte `i % 255 + 1` (a copy cannot skip it as zeros, and a chunk not yet
 * copied reads back different).
 */
export async function fillWithData(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    for (let off = 0, i = 0; off < bytes; off += chunk.length, i++) {
      chunk.fill((i % 255) + 1);
      await fh.write(chunk, 0, Math.min(chunk.length, bytes - off), off);
    }
  } finally {
    await fh.close();
  }
}

/** Adds the dir storage `local` of the node under `base` (as root: a host path). */
export async function addLocalStorage(kernel: Kernel, base: string): Promise<void> {
  await kernel.storage.add('local', 'dir', { path: nodeDirs(base).storePath, content: 'images,rootdir,iso,vztmpl' }, { caller: ROOT_CALLER });
}

/** A VM config that needs no guest image: TCG (`kvm: 0`), 64 MiB, no display, one new disk. */
export function tinyVmConfig(extra: Record<string, string | number> = {}): Record<string, string | number> {
  return { name: 'tiny', memory: 64, kvm: 0, vga: 'none', tablet: 0, scsihw: 'virtio-scsi-pci', scsi0: 'local:0.0625,format=qcow2', ...extra };
}

/** The busybox container template (built by plugin-lxc's script, cached under .cache). */
export function busyboxTemplate(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..');
  const file = join(process.env.CORRAL_CACHE_DIR ?? join(root, '.cache'), 'lxc', 'busybox.tar.gz');
  if (!existsSync(file)) execFileSync('bash', [join(root, 'packages', 'plugin-lxc', 'scripts', 'build-busybox-template.sh')], { stdio: 'ignore' });
  return file;
}
