/**
 * The base of Corral's zone drivers: a driver computes the devices its zone wants on a node
 * ({@link DeviceZoneDriver.plan}); applying, removing and status are common.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, type NetworkContext, type NetworkZoneDefinition, type NetworkZoneDriver, type VnetDefinition, type VnetStatus } from '@corral/core';
import { applyDevices } from '../applyDevices.js';
import type { DeviceSpec } from '../deviceSpec.js';
import { readLinks, type NodeLinks } from '../linkState.js';

/** A zone driver that describes its devices, so that several zones apply as one change. */
export interface PlannedZoneDriver extends NetworkZoneDriver {
  /**
   * The devices `zone` wants for `vnets` on the node whose current devices are `links`.
   * May probe the kernel; throws `NotSupportedError` naming what the kernel lacks.
   */
  plan(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[], links: NodeLinks): Promise<DeviceSpec[]>;
}

/** True when `driver` can plan (Corral's own drivers can; a third-party driver may not). */
export function isPlannedZoneDriver(driver: NetworkZoneDriver): driver is PlannedZoneDriver {
  return typeof (driver as Partial<PlannedZoneDriver>).plan === 'function';
}

/** The status of each vnet: its bridge (named as the vnet) and whether it is up. */
export function vnetStatuses(links: NodeLinks, vnets: readonly VnetDefinition[]): VnetStatus[] {
  return vnets.map((v) => ({ vnet: v.id, bridge: v.id, up: links.get(v.id)?.up === true }));
}

/** Reads an optional integer zone option (already checked by the file parser, checked again for callers that build zones by hand). */
export function intOption(zone: NetworkZoneDefinition, key: string, min: number, max: number): number | undefined {
  const value = zone.options[key];
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InvalidConfigError(key, value, `zone '${zone.id}': option '${key}' must be an integer from ${min} to ${max} (value '${value}')`);
  }
  return Number(value);
}

/**
 * The checks every zone type starts with: every vnet belongs to the zone, `mtu` is 68..65535,
 * and each integer option in `ranges` (`{ 'vxlan-port': [1, 65535] }`) is in its range.
 *
 * @throws InvalidConfigError naming the key.
 */
export function checkZoneBasics(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[], ranges: Readonly<Record<string, readonly [number, number]>> = {}): void {
  checkVnetZone(zone, vnets);
  for (const [key, [min, max]] of Object.entries({ mtu: [68, 65535] as const, ...ranges })) intOption(zone, key, min, max);
}

/** Checks that every vnet belongs to the zone. */
function checkVnetZone(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void {
  for (const vnet of vnets) {
    if (vnet.zone !== zone.id) throw new InvalidConfigError('zone', vnet.zone, `vnet '${vnet.id}' belongs to zone '${vnet.zone}', not '${zone.id}'`);
  }
}

/**
 * A zone driver built on {@link PlannedZoneDriver.plan}: `apply` converges the zone's devices
 * with {@link applyDevices} (atomic: a failure leaves the node as it was), `remove` deletes
 * them, `status` reads the vnet bridges.
 */
export abstract class DeviceZoneDriver implements PlannedZoneDriver {
  abstract readonly type: string;
  abstract validate(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void;
  abstract plan(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[], links: NodeLinks): Promise<DeviceSpec[]>;

  /** Validates, plans and applies the zone (only this zone's devices are touched). */
  async apply(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): Promise<VnetStatus[]> {
    this.validate(zone, vnets);
    const desired = await this.plan(ctx, zone, vnets, await readLinks(ctx));
    await applyDevices(ctx, desired, (z) => z === zone.id);
    return vnetStatuses(await readLinks(ctx), vnets);
  }

  /** Deletes every device SDN created for the zone (atomic as `apply`). */
  async remove(ctx: NetworkContext, zone: NetworkZoneDefinition, _vnets: readonly VnetDefinition[]): Promise<void> {
    await applyDevices(ctx, [], (z) => z === zone.id);
  }

  async status(ctx: NetworkContext, _zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): Promise<VnetStatus[]> {
    return vnetStatuses(await readLinks(ctx), vnets);
  }
}
