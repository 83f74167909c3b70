/**
 * Tap devices of VM NICs. QEMU creates `tap<vmid>i<N>` itself (`-netdev tap,ifname=...,
 * script=no`), so the tap disappears when QEMU exits; the driver then puts it into the NIC's
 * bridge with `ip`, sets VLANs with `bridge` where the bridge filters VLANs, and brings it up.
 *
 * @packageDocumentation
 */
import { access, readFile } from 'node:fs/promises';
import { NotSupportedError, type CommandRunner } from '@corral/core';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** True when `name` is a Linux bridge on this host. */
export function bridgeExists(name: string): Promise<boolean> {
  return exists(`/sys/class/net/${name}/bridge`);
}

/** True when network interface `name` exists. */
export function interfaceExists(name: string): Promise<boolean> {
  return exists(`/sys/class/net/${name}`);
}

/** Options of {@link attachTap}. */
export interface AttachTapOptions {
  readonly tap: string;
  readonly bridge: string;
  /** VLAN tag (access port). Needs a VLAN-aware bridge. */
  readonly tag?: number;
  /** VLAN trunk list (`10;20-30`). Needs a VLAN-aware bridge. */
  readonly trunks?: string;
  /** MTU; default: the bridge's. */
  readonly mtu?: number;
  readonly signal?: AbortSignal;
}

/**
 * Puts `tap` into `bridge` and brings it up. With `tag`/`trunks`, the bridge must filter
 * VLANs (`vlan_filtering=1`).
 *
 * @throws NotSupportedError when VLANs are asked on a bridge that does not filter VLANs;
 *   CommandFailedError from `ip`/`bridge`.
 */
export async function attachTap(runner: CommandRunner, options: AttachTapOptions): Promise<void> {
  const { tap, bridge, signal } = options;
  const wantsVlan = options.tag !== undefined || options.trunks !== undefined;
  if (wantsVlan) {
    const filtering = (await readFile(`/sys/class/net/${bridge}/bridge/vlan_filtering`, 'utf8').catch(() => '0')).trim() === '1';
    if (!filtering) {
      throw new NotSupportedError('vlan', `bridge '${bridge}' does not filter VLANs (vlan_filtering=0): cannot give ${tap} a VLAN tag`);
    }
  }
  let mtu = options.mtu;
  if (mtu === undefined) {
    const text = await readFile(`/sys/class/net/${bridge}/mtu`, 'utf8').catch(() => '');
    if (/^\d+$/.test(text.trim())) mtu = Number(text.trim());
  }
  const args = ['ip', 'link', 'set', 'dev', tap, 'master', bridge];
  if (mtu !== undefined) args.push('mtu', String(mtu));
  args.push('up');
  await runner.run(args, { signal, timeoutMs: 10_000 });
  if (wantsVlan) {
    await runner.run(['bridge', 'vlan', 'del', 'dev', tap, 'vid', '1'], { signal, timeoutMs: 10_000, okExitCodes: [0, 1, 2, 255] });
    if (options.tag !== undefined) {
      await runner.run(['bridge', 'vlan', 'add', 'dev', tap, 'vid', String(options.tag), 'pvid', 'untagged'], { signal, timeoutMs: 10_000 });
    }
    for (const range of (options.trunks ?? '').split(';').filter((r) => r !== '')) {
      await runner.run(['bridge', 'vlan', 'add', 'dev', tap, 'vid', range], { signal, timeoutMs: 10_000 });
    }
  }
}

/** Moves `tap` to another bridge (a live `bridge=` change). */
export async function moveTap(runner: CommandRunner, options: { tap: string; bridge: string; signal?: AbortSignal }): Promise<void> {
  await runner.run(['ip', 'link', 'set', 'dev', options.tap, 'nomaster'], { signal: options.signal, timeoutMs: 10_000 });
  await attachTap(runner, options);
}

/** Deletes `tap` when it still exists (QEMU normally removes it when it exits). */
export async function removeTap(runner: CommandRunner, tap: string): Promise<void> {
  if (!(await interfaceExists(tap))) return;
  await runner.run(['ip', 'link', 'del', 'dev', tap], { timeoutMs: 10_000, okExitCodes: [0, 1, 2] });
}
