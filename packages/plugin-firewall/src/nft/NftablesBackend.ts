/**
 * The `nftables` firewall backend: compiles a FirewallRuleset (see compileRuleset) and loads
 * it with one `nft -j -f` transaction, through the CommandRunner.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandFailedError, type FirewallBackend, type FirewallContext, type FirewallRuleset } from '@corral/core';
import { compileGuest, compileRuleset, guestNics, removeTablesCommands } from './compileRuleset.js';
import type { NftCommand, NftDocument, NftFamily } from './nftJson.js';
import { GUEST_IN_MAP, GUEST_OUT_MAP, PORT_CHECK_MAP, PORT_IDS_MAP, TABLE, guestChain, portCheckChain } from './nftNames.js';

/**
 * The nft program: `/usr/sbin/nft` where it exists (Debian's path), else `nft` from PATH.
 * Not a bare `nft` first: inside npm scripts PATH starts with node_modules/.bin, where the
 * npm package `@vercel/nft` (a file tracer some toolchains pull in) installs a program `nft`.
 */
export const NFT_PROGRAM = existsSync('/usr/sbin/nft') ? '/usr/sbin/nft' : 'nft';

/** Longest transaction (JSON characters) passed as a command-line argument rather than a file. */
const MAX_ARGV_JSON = 64 * 1024;

/** Most milliseconds one nft run may take before it is killed (the kernel then keeps the old rule set). */
const NFT_TIMEOUT_MS = 120_000;

/** The argv prefix that runs a program in the context's network namespace. */
function inNetns(ctx: FirewallContext, argv: readonly string[]): string[] {
  return ctx.netns === undefined ? [...argv] : ['ip', 'netns', 'exec', ctx.netns, ...argv];
}

/** Wraps commands into the document `nft -j -f` reads. */
function documentOf(commands: readonly NftCommand[]): NftDocument {
  return { nftables: commands };
}

/** Element keys and values of one map as the kernel holds them (`nft -j list map`). */
type MapElements = Array<[unknown, unknown]>;

/**
 * Firewall backend `nftables`.
 *
 * - `apply`: one transaction that removes and rebuilds the tables `inet corral` and
 *   `bridge corral`; on any error (CommandFailedError from nft with its stderr) the kernel
 *   keeps the previous rule set. Idempotent.
 * - `applyGuest`: one transaction that replaces only one guest's chains, port chains and map
 *   elements, keeping every other port's id. Falls back to `apply` when the tables are not
 *   installed or a port of the guest belongs to another guest.
 * - `clear`: removes both tables (no error when they are absent).
 *
 * Calls on one backend instance run one at a time per namespace. Callers in several processes
 * must serialize firewall changes of a node themselves (one lock), as for any driver.
 *
 * Needs root (CAP_NET_ADMIN) in the target namespace and br_netfilter: `apply` sets
 * `net.bridge.bridge-nf-call-iptables=1` and `-ip6tables=1` there (with `sysctl`) when the rule
 * set has guests, so that bridged traffic reaches the inet chains.
 */
export class NftablesBackend implements FirewallBackend {
  readonly id = 'nftables';
  /** The last call per namespace ('' = the host's), so calls run one after the other. */
  private readonly queues = new Map<string, Promise<void>>();

  /** The whole transaction as JSON text (what `apply` loads with `nft -j`). Throws `InvalidConfigError`. */
  compile(ruleset: FirewallRuleset): string {
    return JSON.stringify(documentOf(compileRuleset(ruleset).commands));
  }

  apply(ctx: FirewallContext, ruleset: FirewallRuleset): Promise<void> {
    return this.serially(ctx, () => this.applyNow(ctx, ruleset));
  }

  clear(ctx: FirewallContext): Promise<void> {
    return this.serially(ctx, () => this.load(ctx, removeTablesCommands()));
  }

  applyGuest(ctx: FirewallContext, ruleset: FirewallRuleset, vmid: number): Promise<void> {
    return this.serially(ctx, () => this.applyGuestNow(ctx, ruleset, vmid));
  }

  /**
   * Runs `fn` after every earlier call of this backend on the same namespace has settled: the
   * incremental path reads the kernel's port ids and then writes, so two calls must not
   * interleave. Other processes must be kept out by the caller (one lock per node).
   */
  private serially<T>(ctx: FirewallContext, fn: () => Promise<T>): Promise<T> {
    const key = ctx.netns ?? '';
    const run = (this.queues.get(key) ?? Promise.resolve()).then(fn);
    const settled = run.then(
      () => undefined,
      () => undefined
    );
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }

  private async applyNow(ctx: FirewallContext, ruleset: FirewallRuleset): Promise<void> {
    // sysctl runs while the rule set compiles; a compile error still wins (InvalidConfigError).
    const bridgeFiltering = ruleset.enabled && ruleset.guests.length > 0 ? this.enableBridgeFiltering(ctx) : Promise.resolve();
    let compiled: ReturnType<typeof compileRuleset>;
    try {
      compiled = compileRuleset(ruleset);
    } catch (err) {
      await bridgeFiltering.catch(() => undefined);
      throw err;
    }
    await bridgeFiltering;
    await this.load(ctx, compiled.commands);
    ctx.log.info(`firewall: applied ${ruleset.enabled ? `${ruleset.guests.length} guests, ${compiled.portIds.size} ports` : 'nothing (disabled)'}`);
  }

  private async applyGuestNow(ctx: FirewallContext, ruleset: FirewallRuleset, vmid: number): Promise<void> {
    if (!ruleset.enabled) return this.applyNow(ctx, ruleset);
    const state = await this.readPortState(ctx);
    if (state === undefined) {
      ctx.log.info(`firewall: guest ${vmid}: nothing installed yet, applying the whole rule set`);
      return this.applyNow(ctx, ruleset);
    }
    const mine = new Set<number>();
    for (const [id, verdict] of state.guestOut) {
      if (typeof id === 'number' && JSON.stringify(verdict).includes(`"${guestChain(vmid, 'out')}"`)) mine.add(id);
    }
    const oldPorts = [...state.portIds.entries()].filter(([, id]) => mine.has(id)).map(([port]) => port);
    const guest = ruleset.guests.find((g) => g.vmid === vmid);
    const newPorts = guest ? guestNics(guest).map((n) => n.port) : [];
    const ids = new Map<string, number>();
    const used = new Set([...state.portIds.values()].filter((id) => !mine.has(id)));
    for (const port of newPorts) {
      const had = state.portIds.get(port);
      if (had !== undefined && !mine.has(had)) {
        ctx.log.info(`firewall: guest ${vmid}: port ${port} belongs to another guest, applying the whole rule set`);
        return this.applyNow(ctx, ruleset);
      }
      if (had !== undefined) {
        ids.set(port, had);
        used.add(had);
      }
    }
    let next = 1;
    for (const port of newPorts) {
      if (ids.has(port)) continue;
      while (used.has(next)) next += 1;
      ids.set(port, next);
      used.add(next);
    }
    const objs = guest ? compileGuest(ruleset, guest, ids) : { chains: [], elements: [] };
    const cmds: NftCommand[] = [];
    const del = (family: NftFamily, map: string, elem: unknown[]): void => {
      if (elem.length > 0) cmds.push({ delete: { element: { family, table: TABLE, name: map, elem: elem as never } } });
    };
    const oldIds = oldPorts.map((p) => state.portIds.get(p)!);
    del('bridge', PORT_IDS_MAP, oldPorts);
    del('bridge', PORT_CHECK_MAP, oldPorts);
    del('inet', GUEST_OUT_MAP, oldIds);
    del(
      'inet',
      GUEST_IN_MAP,
      [...state.guestIn].filter(([id]) => typeof id === 'number' && oldIds.includes(id)).map(([id]) => id)
    );
    // Old chains: emptied, then deleted (a chain the new rules bring back is re-added below).
    const oldChains: Array<[NftFamily, string]> = [
      ...oldPorts.map((p) => ['bridge', portCheckChain(p)] as [NftFamily, string]),
      ['inet', guestChain(vmid, 'in')],
      ['inet', guestChain(vmid, 'out')],
    ];
    for (const [family, name] of oldChains) {
      cmds.push({ add: { chain: { family, table: TABLE, name } } }, { flush: { chain: { family, table: TABLE, name } } }, { delete: { chain: { family, table: TABLE, name } } });
    }
    cmds.push(...objs.chains);
    for (const e of objs.elements) cmds.push({ add: { element: { family: e.family, table: TABLE, name: e.map, elem: e.elem } } });
    try {
      await this.load(ctx, cmds);
    } catch (err) {
      if (!(err instanceof CommandFailedError)) throw err;
      ctx.log.warn(`firewall: guest ${vmid}: incremental apply refused (${err.stderr.trim().split('\n')[0] ?? ''}), applying the whole rule set`);
      return this.applyNow(ctx, ruleset);
    }
    ctx.log.info(`firewall: applied guest ${vmid} (${newPorts.length} ports)`);
  }

  /**
   * Turns on br_netfilter for bridged IPv4 and IPv6 (`net.bridge.bridge-nf-call-iptables` and
   * `-ip6tables` = 1), as Proxmox's `enable_bridge_firewall` does: without it bridged guest
   * traffic never reaches the inet chains. Idempotent.
   */
  private async enableBridgeFiltering(ctx: FirewallContext): Promise<void> {
    await ctx.runner.run(inNetns(ctx, ['sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1']), {
      timeoutMs: NFT_TIMEOUT_MS,
      signal: ctx.signal,
    });
  }

  /**
   * The port ids and guest dispatch maps in the kernel (one `nft -j list maps`), or undefined
   * when the tables are absent.
   */
  private async readPortState(ctx: FirewallContext): Promise<{ portIds: Map<string, number>; guestOut: MapElements; guestIn: MapElements } | undefined> {
    const res = await ctx.runner.run(inNetns(ctx, [NFT_PROGRAM, '-j', 'list', 'maps']), { timeoutMs: NFT_TIMEOUT_MS, signal: ctx.signal, maxOutputBytes: 256 * 2 ** 20 });
    const doc = JSON.parse(res.stdout) as { nftables: Array<{ map?: { family: string; table: string; name: string; elem?: MapElements } }> };
    const find = (family: NftFamily, name: string): MapElements | undefined => {
      const m = doc.nftables.find((o) => o.map && o.map.family === family && o.map.table === TABLE && o.map.name === name)?.map;
      return m ? m.elem ?? [] : undefined;
    };
    const portIds = find('bridge', PORT_IDS_MAP);
    const guestOut = find('inet', GUEST_OUT_MAP);
    const guestIn = find('inet', GUEST_IN_MAP);
    if (!portIds || !guestOut || !guestIn) return undefined;
    return { portIds: new Map(portIds.filter((e): e is [string, number] => typeof e[0] === 'string' && typeof e[1] === 'number')), guestOut, guestIn };
  }

  /**
   * Runs one transaction. Throws CommandFailedError (with nft's stderr) when nft refuses it.
   * A small transaction goes as nft's command-line argument; a large one through a private
   * temporary file (an argument is limited to 128 KiB, and `nft -f -` opens /dev/stdin, which
   * fails with ENXIO on the socket pair Node gives a child's stdin).
   */
  private async load(ctx: FirewallContext, commands: readonly NftCommand[]): Promise<void> {
    const json = JSON.stringify(documentOf(commands));
    if (json.length <= MAX_ARGV_JSON) {
      await ctx.runner.run(inNetns(ctx, [NFT_PROGRAM, '-j', json]), { timeoutMs: NFT_TIMEOUT_MS, signal: ctx.signal });
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'corral-nft-'));
    try {
      const file = join(dir, 'ruleset.json');
      await writeFile(file, json, { mode: 0o600 });
      await ctx.runner.run(inNetns(ctx, [NFT_PROGRAM, '-j', '-f', file]), { timeoutMs: NFT_TIMEOUT_MS, signal: ctx.signal });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
