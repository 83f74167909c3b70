import { join } from 'node:path';
import { definePlugin, extensionPoints, type CorralPlugin } from '@corral/core';
import { QemuHypervisorDriver, type QemuDriverOptions } from './QemuHypervisorDriver.js';
import { checkAcceleratorMode } from './runtime/acceleratorMode.js';

/** Options of {@link createKvmPlugin}: the driver's, except its run directory (the plugin's own). */
export type KvmPluginOptions = Omit<QemuDriverOptions, 'runDir'>;

/**
 * Makes the KVM plugin with options (QEMU binary, accelerator, resource control, timeouts).
 * Registers a {@link QemuHypervisorDriver} as the `qemu` hypervisor, with `<kernel runDir>/kvm`
 * as its run directory (where the KVM probe caches its answer for the host's boot).
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageDirPlugin, createKvmPlugin({ accelerator: 'auto' })] });
 * await kernel.guests.create('qemu', { memory: 512, scsi0: 'local:8', net0: 'virtio,bridge=vmbr0' });
 * ```
 *
 * @throws InvalidArgumentError (argument `accelerator`) when `accelerator` is not `auto`, `kvm` or `tcg`.
 */
export function createKvmPlugin(options: KvmPluginOptions = {}): CorralPlugin {
  if (options.accelerator !== undefined) checkAcceleratorMode(options.accelerator);
  return definePlugin({
    id: 'kvm',
    apiVersion: 3,
    register(env) {
      env.extend(extensionPoints.hypervisors, 'qemu', new QemuHypervisorDriver({ ...options, runDir: join(env.runDir, env.pluginId) }));
    },
  });
}

/** The KVM plugin (id `kvm`) with default options: guest type `qemu`, accelerator `auto`. */
export const kvmPlugin: CorralPlugin = createKvmPlugin();
