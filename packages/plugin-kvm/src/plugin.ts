import { definePlugin, extensionPoints, type CorralPlugin } from '@corral/core';
import { QemuHypervisorDriver, type QemuDriverOptions } from './QemuHypervisorDriver.js';

/**
 * Makes the KVM plugin with options (QEMU binary, resource control, timeouts). Registers a
 * {@link QemuHypervisorDriver} as the `qemu` hypervisor.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageDirPlugin, kvmPlugin] });
 * await kernel.guests.create('qemu', { memory: 512, scsi0: 'local:8', net0: 'virtio,bridge=vmbr0' });
 * ```
 */
export function createKvmPlugin(options: QemuDriverOptions = {}): CorralPlugin {
  return definePlugin({
    id: 'kvm',
    apiVersion: 2,
    register(env) {
      env.extend(extensionPoints.hypervisors, 'qemu', new QemuHypervisorDriver(options));
    },
  });
}

/** The KVM plugin (id `kvm`) with default options: guest type `qemu`. */
export const kvmPlugin: CorralPlugin = createKvmPlugin();
