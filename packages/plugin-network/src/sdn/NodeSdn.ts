/**
 * The node's SDN as the `network` plugin runs it: the config read from the node's config
 * store (`sdn/*.cfg`) whenever it is needed, applied through the plugin's zone drivers.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [networkPlugin] });
 * await kernel.get(sdnServiceRef).apply(); // converge this node to the store's sdn/*.cfg
 * ```
 *
 * @packageDocumentation
 */
import { createServiceRef, type CommandRunner, type ConfigStore, type Logger, type NetworkContext, type NetworkZoneDriver, type NicPlugHook, type VnetStatus } from '@corral/core';
import type { SdnConfig } from './sdnConfigFiles.js';
import { readSdnConfigFromStore } from './sdnConfigStore.js';
import { createSdnNicHook } from './sdnNicHook.js';
import { SdnService, type SdnServiceOptions } from './SdnService.js';

/** Options of {@link NodeSdn}. */
export interface NodeSdnOptions {
  /** This node's name (zones with `nodes` apply only there). */
  readonly node: string;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** The config store holding `sdn/*.cfg`. */
  readonly store: ConfigStore;
  /** Zone drivers by zone type. */
  readonly drivers: ReadonlyMap<string, NetworkZoneDriver>;
  /** DHCP (IPAM and dnsmasq), as for {@link SdnService}. */
  readonly dhcp?: SdnServiceOptions['dhcp'];
}

/** Where one apply or status call runs: a test's network namespace, a signal, a task log. */
export interface NodeSdnCallOptions {
  /** Network namespace to operate in (tests); default the host's. */
  readonly netns?: string;
  readonly signal?: AbortSignal;
  /** Default the plugin's logger. */
  readonly log?: Logger;
}

/** The SDN of one node, its config taken from the config store at every call. */
export class NodeSdn {
  /** The service doing the work (zone drivers, DHCP). */
  readonly service: SdnService;

  constructor(private readonly options: NodeSdnOptions) {
    this.service = new SdnService(options.drivers, options.dhcp ? { dhcp: options.dhcp } : {});
  }

  /**
   * The store's SDN config now; undefined when it has no `sdn/*.cfg` at all.
   *
   * @throws ParseError naming the file, line and option.
   */
  config(): Promise<SdnConfig | undefined> {
    return readSdnConfigFromStore(this.options.store);
  }

  /**
   * Converges the node to the store's SDN config (see `SdnService.apply`: atomic, removes
   * SDN devices of zones no longer configured). Without any `sdn/*.cfg` nothing is touched.
   *
   * @returns The status of every vnet that applies on this node (empty without SDN files).
   * @throws what `SdnService.apply` throws.
   */
  async apply(call: NodeSdnCallOptions = {}): Promise<VnetStatus[]> {
    const config = await this.config();
    return config ? this.service.apply(this.#ctx(call), config) : [];
  }

  /** The status of every vnet of the store's config that applies on this node. */
  async status(call: NodeSdnCallOptions = {}): Promise<VnetStatus[]> {
    const config = await this.config();
    return config ? this.service.status(this.#ctx(call), config) : [];
  }

  /**
   * The NIC plug hook: a NIC whose `bridge` names a vnet of the store's config is plugged into
   * the vnet's bridge (named as the vnet) and gets its DHCP mapping (see `createSdnNicHook`);
   * other NICs, and every NIC when there are no SDN files, pass unchanged.
   */
  nicHook(): NicPlugHook {
    return createSdnNicHook({ service: this.service, config: () => this.config() });
  }

  #ctx(call: NodeSdnCallOptions): NetworkContext {
    const { node, runner, log } = this.options;
    return { node, runner, log: call.log ?? log, ...(call.netns ? { netns: call.netns } : {}), ...(call.signal ? { signal: call.signal } : {}) };
  }
}

/** The node's SDN, provided by the `network` plugin (`kernel.get(sdnServiceRef)`). */
export const sdnServiceRef = createServiceRef<NodeSdn>({ id: 'network.sdn' });
