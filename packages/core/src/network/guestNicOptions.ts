import type { GuestNic } from '../contracts/network.js';

/** The `netN` properties both guest types share, as parsed from a config value. */
export interface NetPortProperties {
  readonly tag?: number;
  readonly trunks?: string;
  readonly firewall?: boolean;
  readonly rate?: number;
  readonly link_down?: boolean;
}

/**
 * The port fields of a {@link GuestNic} from a parsed `netN` value (qemu or lxc): VLANs as
 * given, `firewall`, `rate` (0 = none) and `link_down` only when set.
 */
export function guestNicOptions(net: NetPortProperties): Pick<GuestNic, 'tag' | 'trunks' | 'firewall' | 'rate' | 'link_down'> {
  return {
    tag: net.tag,
    trunks: net.trunks,
    firewall: net.firewall || undefined,
    rate: net.rate || undefined,
    link_down: net.link_down || undefined,
  };
}
