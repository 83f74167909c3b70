import { definePlugin } from '@corral/core';

/**
 * Plugin `firewall`: Proxmox's `.fw` rules compiled to nftables.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [firewallPlugin] });
 * ```
 */
export const firewallPlugin = definePlugin({
  id: 'firewall',
  apiVersion: 3,
  register() {
    // Extensions are registered here as they land (the nftables firewall backend).
  },
});
