/**
 * Network-zone contract (Proxmox SDN): a zone type turns its definition into bridges,
 * VXLAN devices and the like on a node. Implemented by `plugin-network`.
 *
 * @packageDocumentation
 */
import type { CommandRunner } from '../exec/CommandRunner.js';
import type { Logger } from '../util/Logger.js';

/** A zone definition as in Proxmox's `sdn/zones.cfg` (section config). */
export interface NetworkZoneDefinition {
  readonly id: string;
  /** Zone type id (`simple`, `vlan`, `vxlan`, `evpn`...). */
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
}

/** A virtual network (vnet) inside a zone (`sdn/vnets.cfg`). */
export interface VnetDefinition {
  readonly id: string;
  readonly zone: string;
  /** VLAN id or VXLAN VNI. */
  readonly tag?: number;
  readonly options: Readonly<Record<string, string>>;
}

/** What a zone driver gets with every call. */
export interface NetworkContext {
  readonly node: string;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Network namespace to operate in (tests); undefined = the host's. */
  readonly netns?: string;
  readonly signal?: AbortSignal;
}

/** The realised state of one vnet on this node. */
export interface VnetStatus {
  readonly vnet: string;
  /** The bridge guests attach to. */
  readonly bridge: string;
  readonly up: boolean;
}

/** A zone driver. Apply is idempotent: it converges the node to the definitions. */
export interface NetworkZoneDriver {
  /** Zone type id. */
  readonly type: string;
  /** Throws `InvalidConfigError` naming the option. */
  validate(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void;
  /** Creates/updates devices for the zone's vnets; throws `NotSupportedError` when the kernel lacks a feature. */
  apply(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): Promise<VnetStatus[]>;
  /** Removes what `apply` created for the zone. */
  remove(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): Promise<void>;
  status(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): Promise<VnetStatus[]>;
}
