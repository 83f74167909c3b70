import { definePlugin } from '@corral/core';

/**
 * Plugin `network`: Linux bridges, the NIC plug path and Proxmox SDN zones.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [networkPlugin] });
 * ```
 */
export const networkPlugin = definePlugin({
  id: 'network',
  apiVersion: 3,
  register() {
    // Extensions are registered here as they land (NIC plugging, SDN zone drivers).
  },
});
