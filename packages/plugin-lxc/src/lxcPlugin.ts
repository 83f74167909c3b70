/**
 * The LXC plugin: registers {@link LxcHypervisorDriver} as the hypervisor of guest type `lxc`.
 * Needs no other plugin; container volumes come from whatever storage plugins are loaded.
 *
 * @packageDocumentation
 */
import { definePlugin, extensionPoints, type CorralPlugin } from '@corral/core';
import { LxcHypervisorDriver, type LxcHypervisorDriverOptions } from './LxcHypervisorDriver.js';

/** Makes the plugin with driver options (the default {@link lxcPlugin} uses none). */
export function createLxcPlugin(options: LxcHypervisorDriverOptions = {}): CorralPlugin {
  return definePlugin({
    id: 'lxc',
    apiVersion: 3,
    register(env) {
      env.extend(extensionPoints.hypervisors, 'lxc', new LxcHypervisorDriver(options));
    },
  });
}

/** The LXC plugin (id `lxc`): guest type `lxc`, Proxmox pve-container configs on LXC. */
export const lxcPlugin: CorralPlugin = createLxcPlugin();
