/**
 * Asks the kernel whether it can make a kind of device (802.1q VLANs, 802.1ad, vrf) by making
 * a throw-away one, as HOST-FACTS asks: probe, then report "unsupported by this kernel".
 *
 * @packageDocumentation
 */
import { CommandFailedError, type NetworkContext } from '@corral/core';
import { ipArgv } from './linkState.js';

/** What the kernel answers when it lacks a device type (iproute2's messages). */
const MISSING = /Unknown device type|Operation not supported|not supported|No such device/i;

/**
 * Creates a device `ip link add <before...> name <probe> <after...>` with a unique probe name
 * and deletes it again.
 *
 * @returns undefined when the kernel made the device; the kernel's message when it lacks the
 *   device type (`Unknown device type`, `Operation not supported`).
 * @throws CommandFailedError for any other failure (a parent device that does not exist...).
 */
export async function probeDeviceType(ctx: NetworkContext, before: readonly string[], after: readonly string[]): Promise<string | undefined> {
  const name = `sdnprobe${Math.floor(Math.random() * 0xffffff).toString(16)}`.slice(0, 15);
  try {
    await ctx.runner.run(ipArgv(ctx, 'link', 'add', ...before, 'name', name, ...after), { timeoutMs: 30_000 });
  } catch (error) {
    if (error instanceof CommandFailedError && MISSING.test(error.stderr)) return error.stderr.trim();
    throw error;
  }
  await ctx.runner.run(ipArgv(ctx, 'link', 'del', 'dev', name), { timeoutMs: 30_000 });
  return undefined;
}
