import { readFile } from 'node:fs/promises';
import type { QemuConfig } from '../config/QemuConfig.js';

/**
 * The MTU of each bridge `config`'s NICs plug into, read from `/sys/class/net/<bridge>/mtu`
 * (qemu-server passes it to virtio NICs as `host_mtu`). A bridge that does not exist or cannot
 * be read is left out (the command line then assumes 1500; starting the VM fails later, naming
 * the bridge, when the tap is plugged).
 */
export async function readBridgeMtus(config: Pick<QemuConfig, 'nets'>, sysClassNet = '/sys/class/net'): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const bridges = new Set(config.nets.flatMap((n) => (n.net.bridge === undefined ? [] : [n.net.bridge])));
  await Promise.all(
    [...bridges].map(async (bridge) => {
      if (bridge.includes('/') || bridge.startsWith('.')) return;
      const text = await readFile(`${sysClassNet}/${bridge}/mtu`, 'utf8').catch(() => '');
      const mtu = Number(text.trim());
      if (Number.isInteger(mtu) && mtu > 0) out.set(bridge, mtu);
    }),
  );
  return out;
}
