/**
 * Field schemas and formats shared by VM and container configs.
 *
 * @packageDocumentation
 */
import { Type } from '@sinclair/typebox';
import { Bool, Int, Str, definePropertyString } from './valueSchema.js';

/**
 * A bridge name (`pve-bridge-id`): letters, digits, `-`, `_`, `.`. Corral also limits it to
 * 15 characters, the longest interface name Linux allows.
 */
export const BridgeName = () =>
  Str({
    pattern: '[-_.\\w]+',
    maxLength: 15,
    pveMessage: "is not a valid bridge name (letters, digits, '-', '_', '.', at most 15 characters)",
  });

/** A unicast MAC address `XX:XX:XX:XX:XX:XX`. */
export const MacAddress = () => Str({ pveFormat: 'mac' });

/** A VLAN tag, 1 to 4094. */
export const VlanTag = () => Int({ minimum: 1, maximum: 4094 });

/** A volume id `storage:name`. */
export const VolumeIdString = () => Str({ pveFormat: 'volume-id' });

/** Lock values Proxmox sets on VMs (`lock:`). */
export const QEMU_LOCKS = ['backup', 'clone', 'create', 'migrate', 'rollback', 'snapshot', 'snapshot-delete', 'suspending', 'suspended'] as const;
/** Lock values Proxmox sets on containers. */
export const LXC_LOCKS = ['backup', 'create', 'destroyed', 'disk', 'fstrim', 'migrate', 'mounted', 'rollback', 'snapshot', 'snapshot-delete'] as const;

/**
 * `startup: [order=]N,up=N,down=N` (`pve-startup-order`): start order, and delays in seconds
 * to wait after starting (`up`) or before stopping (`down`) this guest.
 */
export const startupFormat = definePropertyString({
  name: 'startup',
  defaultKey: 'order',
  properties: {
    order: Type.Optional(Int({ minimum: 0 })),
    up: Type.Optional(Int({ minimum: 0 })),
    down: Type.Optional(Int({ minimum: 0 })),
  },
  refine: (v) => (v.order === undefined && v.up === undefined && v.down === undefined ? 'is empty' : undefined),
});

/** `parent`, snapshot names: `pve-configid`, at most 40 characters. */
export const SnapshotName = () => Str({ pveFormat: 'config-id', maxLength: 40 });

/** `snapstate` while a snapshot is being prepared or deleted. */
export const SNAPSTATES = ['prepare', 'delete'] as const;

/** `digest` of a config (SHA-1 or SHA-256 hex). */
export const Digest = () => Str({ pattern: '[0-9a-fA-F]{40}|[0-9a-fA-F]{64}', pveMessage: 'is not a SHA-1 or SHA-256 hex digest' });

/** A boolean flag. */
export const Flag = () => Type.Optional(Bool());
