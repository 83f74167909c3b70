/**
 * The node's firewall as the embedder and the NIC plug hook use it: reads Proxmox's firewall
 * files from the config store, resolves them with the NICs plugged through this kernel, and
 * applies them with the nftables backend.
 *
 * @packageDocumentation
 */
import { createServiceRef, type ConfigStore, type CommandRunner, type FirewallContext, type FirewallRuleset, type GuestNic, type Logger } from '@corral/core';
import type { FwDocument, FwFileKind } from '../fw/fwDocument.js';
import { parseFwFile } from '../fw/parseFwFile.js';
import type { NftablesBackend } from '../nft/NftablesBackend.js';
import { resolveFirewallRuleset, type FirewallNicInput } from '../resolve/resolveFirewallRuleset.js';
import { FirewallPlugError } from './FirewallPlugError.js';
import { readRunningFirewallNics } from './runningGuestNics.js';

/** What {@link FirewallService} needs. */
export interface FirewallServiceDeps {
  readonly node: string;
  readonly config: ConfigStore;
  readonly runner: CommandRunner;
  readonly backend: NftablesBackend;
  readonly log: Logger;
  /** Network namespace the rules go to (tests); undefined = the host's. */
  readonly netns?: string;
  /** The cluster network (CIDR) filling the `management` ipset when `cluster.fw` defines none. */
  readonly localNetwork?: string;
}

/** What {@link FirewallService.compile} returns. */
export interface FirewallCompileResult {
  /** The resolved rule set. */
  readonly ruleset: FirewallRuleset;
  /** The nftables JSON transaction `reload` would load. */
  readonly nft: string;
}

/** Config store paths of the firewall files, as Proxmox lays them out under `/etc/pve`. */
export function firewallFilePaths(node: string): { readonly cluster: string; readonly host: string; guest(vmid: number): string } {
  return { cluster: 'firewall/cluster.fw', host: `nodes/${node}/host.fw`, guest: (vmid) => `firewall/${vmid}.fw` };
}

/**
 * The firewall of one node. It knows the guests' NICs that were plugged with `firewall=1`
 * through this kernel ({@link FirewallService.nicPlugged}) and, from {@link FirewallService.reload}
 * on, those of the guests already running; guests with no such NIC are not filtered. A missing file is Proxmox's default (no `cluster.fw`: the firewall is off; no
 * `<vmid>.fw`: the guest is not filtered). Errors: `InvalidConfigError`/`FwParseError` for a
 * bad file (naming file and line or rule), `CommandFailedError` from `nft`. Calls on one
 * instance reach nftables one at a time (the backend queues them); callers in several
 * processes must hold one node lock.
 */
export class FirewallService {
  readonly #deps: FirewallServiceDeps;
  /** Plugged firewall NICs: vmid → NIC key → NIC. */
  readonly #plugged = new Map<number, Map<string, FirewallNicInput>>();

  constructor(deps: FirewallServiceDeps) {
    this.#deps = deps;
  }

  /** Resolves and compiles the node's rule set without applying it. */
  async compile(): Promise<FirewallCompileResult> {
    const ruleset = await this.#resolve();
    return { ruleset, nft: this.#deps.backend.compile(ruleset) };
  }

  /**
   * Re-reads every file and applies the node's whole rule set in one transaction (the old one
   * stays on failure). It also takes in the running guests' NICs: every `netN` with
   * `firewall=1` in the node's VM and container configs whose host port (`tap<vmid>i<N>`,
   * `veth<vmid>i<N>`) exists, so a kernel started after the guests filters them again without
   * plug calls. A NIC known from a plug keeps what the plug said.
   */
  async reload(log: Logger = this.#deps.log, signal?: AbortSignal): Promise<void> {
    const running = await readRunningFirewallNics({
      node: this.#deps.node,
      config: this.#deps.config,
      runner: this.#deps.runner,
      log,
      ...(this.#deps.netns !== undefined ? { netns: this.#deps.netns } : {}),
      ...(signal ? { signal } : {}),
    });
    for (const [vmid, found] of running) {
      const nics = this.#plugged.get(vmid) ?? new Map<string, FirewallNicInput>();
      for (const nic of found) if (!nics.has(nic.key)) nics.set(nic.key, nic);
      this.#plugged.set(vmid, nics);
    }
    await this.#deps.backend.apply(this.#context(log, signal), await this.#resolve());
  }

  /**
   * A NIC with `firewall=1` was plugged: records it and applies its guest's rules (only that
   * guest's chains change). On failure the NIC is forgotten again and a
   * {@link FirewallPlugError} naming the guest and NIC is thrown. NICs without `firewall=1` are ignored.
   */
  async nicPlugged(nic: GuestNic, log: Logger = this.#deps.log, signal?: AbortSignal): Promise<void> {
    if (!nic.firewall) return;
    const nics = this.#plugged.get(nic.vmid) ?? new Map<string, FirewallNicInput>();
    const before = nics.get(nic.key);
    nics.set(nic.key, { key: nic.key, port: nic.ifname, firewall: true, ...(nic.mac !== undefined ? { mac: nic.mac } : {}) });
    this.#plugged.set(nic.vmid, nics);
    try {
      await this.#applyGuest(nic.vmid, log, signal);
    } catch (err) {
      if (before === undefined) nics.delete(nic.key);
      else nics.set(nic.key, before);
      if (nics.size === 0) this.#plugged.delete(nic.vmid);
      throw new FirewallPlugError(nic.vmid, nic.key, err);
    }
  }

  /**
   * A NIC was unplugged: forgets it and re-applies its guest (whose chains go away with its last
   * NIC). Idempotent: a NIC this service does not know changes nothing.
   */
  async nicUnplugged(nic: GuestNic, log: Logger = this.#deps.log, signal?: AbortSignal): Promise<void> {
    const nics = this.#plugged.get(nic.vmid);
    if (nics === undefined || !nics.delete(nic.key)) return;
    if (nics.size === 0) this.#plugged.delete(nic.vmid);
    await this.#applyGuest(nic.vmid, log, signal);
  }

  async #applyGuest(vmid: number, log: Logger, signal?: AbortSignal): Promise<void> {
    await this.#deps.backend.applyGuest(this.#context(log, signal), await this.#resolve(), vmid);
  }

  #context(log: Logger, signal?: AbortSignal): FirewallContext {
    return { node: this.#deps.node, runner: this.#deps.runner, log, ...(this.#deps.netns !== undefined ? { netns: this.#deps.netns } : {}), ...(signal ? { signal } : {}) };
  }

  async #read(path: string, kind: FwFileKind, cluster?: FwDocument): Promise<FwDocument | undefined> {
    const file = await this.#deps.config.read(path);
    return file === null ? undefined : parseFwFile(file.content, { kind, fileName: path, ...(cluster ? { cluster } : {}) });
  }

  async #resolve(): Promise<FirewallRuleset> {
    const paths = firewallFilePaths(this.#deps.node);
    const cluster = await this.#read(paths.cluster, 'cluster');
    const host = await this.#read(paths.host, 'host', cluster);
    const guests = [];
    for (const [vmid, nics] of [...this.#plugged].sort(([a], [b]) => a - b)) {
      const document = await this.#read(paths.guest(vmid), 'vm', cluster);
      guests.push({ vmid, nics: [...nics.values()], ...(document ? { document } : {}) });
    }
    return resolveFirewallRuleset({ cluster, host, guests, ...(this.#deps.localNetwork !== undefined ? { localNetwork: this.#deps.localNetwork } : {}) });
  }
}

/** The firewall service of a kernel loaded with the firewall plugin: `kernel.get(firewallServiceRef)`. */
export const firewallServiceRef = createServiceRef<FirewallService>({ id: 'firewall.service' });
