/**
 * VM network devices, `netN` (N 0..31), as qemu-server's `PVE::QemuServer::Network` defines
 * them:
 *
 * ```text
 * net0: virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1,tag=20
 * ```
 *
 * The model may carry the MAC address (`virtio=MAC` means `model=virtio,macaddr=MAC`).
 *
 * @packageDocumentation
 */
import { Type, type Static } from '@sinclair/typebox';
import { BridgeName, Flag, MacAddress, VlanTag } from './commonFields.js';
import { Enum, Int, Num, Str, definePropertyString } from './valueSchema.js';

/** NIC models qemu-server offers. */
export const QEMU_NIC_MODELS = [
  'e1000',
  'e1000-82540em',
  'e1000-82544gc',
  'e1000-82545em',
  'e1000e',
  'i82551',
  'i82557b',
  'i82559er',
  'ne2k_isa',
  'ne2k_pci',
  'pcnet',
  'rtl8139',
  'virtio',
  'vmxnet3',
] as const;

/** The `netN` format. */
export const qemuNetFormat = definePropertyString({
  name: 'qemu net',
  defaultKey: 'model',
  aliases: Object.fromEntries(QEMU_NIC_MODELS.map((m) => [m, { alias: 'macaddr', keyAlias: 'model' }])),
  properties: {
    model: Enum(QEMU_NIC_MODELS),
    macaddr: Type.Optional(MacAddress()),
    bridge: Type.Optional(BridgeName()),
    queues: Type.Optional(Int({ minimum: 0, maximum: 64 })),
    rate: Type.Optional(Num({ minimum: 0 })),
    tag: Type.Optional(VlanTag()),
    trunks: Type.Optional(
      Str({ pattern: '\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*', pveMessage: "must be VLAN ids or ranges separated by ';' (e.g. 10;20-30)" }),
    ),
    firewall: Flag(),
    link_down: Flag(),
    mtu: Type.Optional(Int({ minimum: 1, maximum: 65520 })),
  },
});

/**
 * A parsed VM network device: `model` (NIC model), `macaddr`, `bridge` (absent: QEMU user
 * networking), `tag` (VLAN), `trunks`, `rate` (MB/s), `queues`, `mtu`, `firewall`, `link_down`.
 */
export type QemuNet = Static<(typeof qemuNetFormat)['schema']>;

/** Options of {@link parseQemuNet} / {@link printQemuNet}. */
export interface QemuNetOptions {
  /** The config key (`net0`...), named in errors. Default `qemu net`. */
  readonly key?: string;
}

/**
 * Parses a `netN` value.
 *
 * ```ts
 * parseQemuNet('virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1')
 * // { model: 'virtio', macaddr: 'BC:24:11:2A:3B:4C', bridge: 'vmbr0', firewall: true }
 * ```
 *
 * @throws InvalidConfigError naming the key and value for an unknown model or field, a bad MAC
 *   address, bridge name, VLAN tag...
 */
export function parseQemuNet(value: string, options: QemuNetOptions = {}): QemuNet {
  return qemuNetFormat.parse(value, options.key ?? 'qemu net');
}

/**
 * Prints a network device as qemu-server writes it: `model=MAC` first (or the bare model when
 * there is no MAC), then the other fields sorted.
 *
 * @throws InvalidConfigError for an invalid field value.
 */
export function printQemuNet(net: QemuNet, options: QemuNetOptions = {}): string {
  return qemuNetFormat.print(net, options.key ?? 'qemu net');
}
