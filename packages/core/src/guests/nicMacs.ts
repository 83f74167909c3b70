/**
 * MAC addresses of guest NICs, as Proxmox writes them: Proxmox's OUI `BC:24:11` plus three
 * random bytes, written into the `netN` value (qemu `virtio=BC:24:11:...`, lxc `hwaddr=...`)
 * so the address stays the same across starts, migrations and backups. Which of the two
 * formats applies is the guest type's `nicMacFormat` (`false`: core leaves `netN` alone).
 *
 * @internal
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import type { GuestConfigDialect } from '../contracts/hypervisor.js';
import { parseLxcNet, printLxcNet } from '../formats/schema/lxcNet.js';
import { parseQemuNet, printQemuNet } from '../formats/schema/qemuNet.js';

const NET_KEY = /^net\d+$/;

/** A new MAC address: `BC:24:11` and three random bytes. */
function randomGuestMac(): string {
  return ['BC', '24', '11', ...randomBytes(3).toString('hex').toUpperCase().match(/../g)!].join(':');
}

/** `value` of NIC `key` with MAC `mac`, through the net format `format`. @throws InvalidConfigError naming the key for a value that does not parse. */
function withMac(format: GuestConfigDialect, key: string, value: string, mac: (current: string | undefined) => string): string {
  if (format === 'qemu') {
    const net = parseQemuNet(value, { key });
    return printQemuNet({ ...net, macaddr: mac(net.macaddr) }, { key });
  }
  const net = parseLxcNet(value, { key });
  return printLxcNet({ ...net, hwaddr: mac(net.hwaddr) }, { key });
}

/** A clone's NIC gets a new MAC, set through the guest type's typed net format so every model and key spelling is handled. */
export function withFreshMac(format: GuestConfigDialect | false, key: string, value: string): string {
  return format === false ? value : withMac(format, key, value, () => randomGuestMac());
}

/**
 * Writes a new MAC into each `netN` among `keys` of `entries` that has none (create and update,
 * as qemu-server and pct do); values with a MAC stay as they are, byte for byte.
 *
 * @throws InvalidConfigError naming the key for a `netN` value that does not parse.
 */
export function fillMissingMacs(format: GuestConfigDialect | false, entries: Record<string, string>, keys: readonly string[]): void {
  if (format === false) return;
  for (const key of keys) {
    const value = entries[key];
    if (!NET_KEY.test(key) || value === undefined) continue;
    let missing = false;
    const filled = withMac(format, key, value, (current) => {
      missing = current === undefined;
      return current ?? randomGuestMac();
    });
    if (missing) entries[key] = filled;
  }
}
