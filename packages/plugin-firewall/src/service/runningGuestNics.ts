/**
 * The firewall NICs of guests already running on the node, found from their configs and the
 * host's interfaces: what a freshly started kernel filters without having seen the plugs.
 *
 * @packageDocumentation
 */
import { guestConfigDir, parseGuestConfig, parseLxcNet, parseQemuNet, type CommandRunner, type ConfigStore, type Logger } from '@corral/core';
import type { FirewallNicInput } from '../resolve/resolveFirewallRuleset.js';

/** What {@link readRunningFirewallNics} needs. */
export interface RunningGuestNicsDeps {
  readonly node: string;
  readonly config: ConfigStore;
  readonly runner: CommandRunner;
  /** Told (warn) about each config or NIC value that does not parse and is left out. */
  readonly log: Logger;
  /** Network namespace holding the guests' ports (tests); undefined = the host's. */
  readonly netns?: string;
  readonly signal?: AbortSignal;
}

/** Host port of NIC `netN` of a guest, as the hypervisor plugins name it (`tap<vmid>i<N>`, `veth<vmid>i<N>`). */
function portName(type: 'qemu' | 'lxc', vmid: number, index: string): string {
  return `${type === 'qemu' ? 'tap' : 'veth'}${vmid}i${index}`;
}

/** The vmid of config file `path` (`.../<vmid>.conf`), or undefined. */
function vmidOf(path: string): number | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (!/^[0-9]{1,9}\.conf$/.test(name)) return undefined;
  const vmid = Number(name.slice(0, -'.conf'.length));
  return vmid > 0 ? vmid : undefined;
}

/** Names of the interfaces present in the namespace (`ip -j link show`). */
async function presentInterfaces(deps: RunningGuestNicsDeps): Promise<Set<string>> {
  const argv = deps.netns === undefined ? ['ip', '-j', 'link', 'show'] : ['ip', '-n', deps.netns, '-j', 'link', 'show'];
  const res = await deps.runner.run(argv, { timeoutMs: 30_000, ...(deps.signal ? { signal: deps.signal } : {}) });
  const links = JSON.parse(res.stdout) as Array<{ ifname?: string }>;
  return new Set(links.flatMap((l) => (l.ifname ? [l.ifname] : [])));
}

/**
 * The NICs with `firewall=1` in the main section of the node's VM and container configs
 * (`nodes/<node>/qemu-server`, `nodes/<node>/lxc`) whose host port exists now: vmid → NICs
 * sorted by key. A NIC whose port is absent (guest stopped) is left out. A config that does not
 * parse, or a NIC value that does not parse, is left out too, with a warning on `deps.log`.
 * Containers whose port name would pass 15 characters (LXC then hashes it) are not found.
 * Errors: `CommandFailedError` from `ip`.
 */
export async function readRunningFirewallNics(deps: RunningGuestNicsDeps): Promise<Map<number, FirewallNicInput[]>> {
  const present = await presentInterfaces(deps);
  const found = new Map<number, FirewallNicInput[]>();
  for (const type of ['qemu', 'lxc'] as const) {
    for (const file of await deps.config.readAll(guestConfigDir(deps.node, type), '.conf')) {
      const vmid = vmidOf(file.path);
      if (vmid === undefined) continue;
      let entries;
      try {
        entries = parseGuestConfig(file.content, { type, source: file.path }).entries;
      } catch (err) {
        deps.log.warn(`firewall: guest ${vmid} is not filtered: its config '${file.path}' does not parse (${(err as Error).message})`);
        continue;
      }
      for (const { key, value } of entries) {
        const m = /^net(\d+)$/.exec(key);
        if (!m) continue;
        let firewall: boolean | undefined;
        let mac: string | undefined;
        try {
          const net = type === 'qemu' ? parseQemuNet(value) : parseLxcNet(value);
          firewall = Boolean(net.firewall);
          mac = 'macaddr' in net ? net.macaddr : 'hwaddr' in net ? net.hwaddr : undefined;
        } catch (err) {
          deps.log.warn(`firewall: guest ${vmid} ${key} is not filtered: its value does not parse (${(err as Error).message})`);
          continue;
        }
        const port = portName(type, vmid, m[1]!);
        if (!firewall || !present.has(port)) continue;
        const nics = found.get(vmid) ?? [];
        nics.push({ key, port, firewall: true, ...(mac !== undefined ? { mac } : {}) });
        found.set(vmid, nics);
      }
    }
  }
  for (const nics of found.values()) nics.sort((a, b) => Number(a.key.slice(3)) - Number(b.key.slice(3)));
  return found;
}
