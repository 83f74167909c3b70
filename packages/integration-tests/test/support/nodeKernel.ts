/**
 * A kernel for the cross-package tests on a data dir that other processes can open too: the
 * dir storage (`local`: images, rootdir, iso, vztmpl), QEMU (no resource control, so no
 * cgroups are touched) and LXC.
 *
 * @packageDocumentation
 */
import { join } from 'node:path';
import { createKernel, ROOT_CALLER, type CorralPlugin, type Kernel, type KernelOptions } from '@corral/core';
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

/** Adds the dir storage `local` of the node under `base` (as root: a host path). */
export async function addLocalStorage(kernel: Kernel, base: string): Promise<void> {
  await kernel.storage.add('local', 'dir', { path: nodeDirs(base).storePath, content: 'images,rootdir,iso,vztmpl' }, { caller: ROOT_CALLER });
}

/** A VM config that needs no guest image: TCG (`kvm: 0`), 64 MiB, no display, one new disk. */
export function tinyVmConfig(extra: Record<string, string | number> = {}): Record<string, string | number> {
  return { name: 'tiny', memory: 64, kvm: 0, vga: 'none', tablet: 0, scsihw: 'virtio-scsi-pci', scsi0: 'local:0.0625,format=qcow2', ...extra };
}
