import { definePlugin, extensionPoints } from '@corral/core';
import { NftablesBackend } from './nft/NftablesBackend.js';

/**
 * Plugin `firewall`: Proxmox's `.fw` rules compiled to nftables. Provides the firewall backend
 * `nftables` ({@link NftablesBackend}); each kernel gets its own instance.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [firewallPlugin] });
 * ```
 */
export const firewallPlugin = definePlugin({
  id: 'firewall',
  apiVersion: 3,
  register(env) {
    env.extend(extensionPoints.firewallBackends, 'nftables', new NftablesBackend());
  },
});
