/**
 * The source NAT of SDN subnets with `snat` (Proxmox's simple zone), as one nftables table
 * per family (`ip corral_sdn`, `ip6 corral_sdn`) holding a `postrouting` nat chain. The table
 * is replaced whole in one `nft -f` transaction; its comment carries a digest of its rules so
 * an unchanged table is not rewritten.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { CommandFailedError, NotFoundError, type NetworkContext } from '@corral/core';
import type { SnatRule } from './deviceSpec.js';

/**
 * The nft program: `/usr/sbin/nft` where it exists (Debian's path: a Node package's `nft`
 * command on PATH, such as @vercel/nft's, must not be taken for it), else `nft` from PATH.
 */
const NFT = existsSync('/usr/sbin/nft') ? '/usr/sbin/nft' : 'nft';

/** The nftables table SDN's SNAT rules live in. */
export const NAT_TABLE = 'corral_sdn';

/** `argv` run inside the context's namespace (`ip netns exec`). */
export function inNetns(ctx: NetworkContext, argv: readonly string[]): string[] {
  return ctx.netns ? ['ip', 'netns', 'exec', ctx.netns, ...argv] : [...argv];
}

function family(f: 4 | 6): string {
  return f === 4 ? 'ip' : 'ip6';
}

/** The table's text for `rules` (of one family), or undefined when there are none. */
export function natTableText(f: 4 | 6, rules: readonly SnatRule[]): string | undefined {
  if (rules.length === 0) return undefined;
  const lines = rules.map((r) => `\t\t${family(f)} saddr ${r.source} oifname "${r.outIf}" counter snat to ${r.toSource}`);
  const digest = createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
  return [
    `table ${family(f)} ${NAT_TABLE} {`,
    `\tcomment "corral-sdn ${digest}"`,
    '\tchain postrouting {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    ...lines,
    '\t}',
    '}',
    '',
  ].join('\n');
}

/** The table as `nft list table` prints it (input `nft -f` takes back), or undefined when there is none (or no `nft`). */
export async function readNatTable(ctx: NetworkContext, f: 4 | 6): Promise<string | undefined> {
  try {
    const { stdout } = await ctx.runner.run(inNetns(ctx, [NFT, 'list', 'table', family(f), NAT_TABLE]), { timeoutMs: 30_000 });
    return stdout;
  } catch (error) {
    if (error instanceof CommandFailedError && /No such file or directory/.test(error.stderr)) return undefined;
    // Without nft there is no table (and a desired one fails when it is loaded).
    if (error instanceof NotFoundError && error.kind === 'program') return undefined;
    throw error;
  }
}

/** The digest comment of a table's text. */
export function natTableDigest(text: string | undefined): string | undefined {
  return text === undefined ? undefined : /comment "corral-sdn ([0-9a-f]+)"/.exec(text)?.[1];
}

/** `nft -f -` (input from {@link replaceNatTableInput}) in the context's namespace. */
export function nftLoadArgv(ctx: NetworkContext): string[] {
  return inNetns(ctx, [NFT, '-f', '-']);
}

/** `nft -f -` input that replaces the family's table by `text` (or removes it when undefined). */
export function replaceNatTableInput(f: 4 | 6, text: string | undefined): string {
  return `table ${family(f)} ${NAT_TABLE}\ndelete table ${family(f)} ${NAT_TABLE}\n${text ?? ''}`;
}
