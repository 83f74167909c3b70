/**
 * Network namespaces for the SDN tests: a node or a guest is a namespace removed (with all
 * its devices) when the test ends; a guest's eth0 is a veth whose host end, named like a tap,
 * is a port of a bridge in its node's namespace.
 */
import type { ExecutionContext } from 'ava';
import { NodeCommandRunner } from '@corral/core';

export const runner = new NodeCommandRunner();

/** Runs a command that must succeed. */
export const sh = (...argv: string[]) => runner.run(argv, { timeoutMs: 30_000 });

/** A new namespace with `lo` up, deleted when the test ends. */
export async function netns(t: ExecutionContext, name: string): Promise<string> {
  await sh('ip', 'netns', 'add', name);
  t.teardown(() => runner.run(['ip', 'netns', 'del', name], { okExitCodes: [0, 1] }));
  await sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  return name;
}

/**
 * A guest namespace `name` whose eth0 (MTU `mtu`, MAC `mac` when given, address `address`
 * when given) is a veth whose host end `hostIf` is a port of `bridge` in namespace `node`.
 */
export async function guestNetns(
  t: ExecutionContext,
  options: { node: string; bridge: string; name: string; hostIf: string; mac?: string; address?: string; mtu?: number },
): Promise<string> {
  const ns = await netns(t, options.name);
  await sh('ip', 'link', 'add', 'name', options.hostIf, 'netns', options.node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  await sh('ip', '-n', options.node, 'link', 'set', 'dev', options.hostIf, 'master', options.bridge, 'up');
  if (options.mac) await sh('ip', '-n', ns, 'link', 'set', 'dev', 'eth0', 'address', options.mac);
  if (options.mtu) await sh('ip', '-n', ns, 'link', 'set', 'dev', 'eth0', 'mtu', String(options.mtu));
  if (options.address) await sh('ip', '-n', ns, 'addr', 'add', options.address, 'dev', 'eth0');
  await sh('ip', '-n', ns, 'link', 'set', 'dev', 'eth0', 'up');
  return ns;
}

/** True for the commands SDN runs only to read state (`ip -j`, `bridge -j`, `nft list`, `sysctl -n`). */
export function isReadCommand(argv: readonly string[]): boolean {
  return argv.includes('-j') || (argv.some((a) => a.endsWith('nft')) && argv.includes('list')) || (argv.includes('sysctl') && argv.includes('-n'));
}
