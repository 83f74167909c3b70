import { Type } from '@sinclair/typebox';
import { InvalidConfigError, proxmoxBooleanSchema, storageFlag, type StorageDefinition } from '@corral/core';

/** A boolean option as Proxmox writes and reads it (`1`/`0`, `yes`/`no`, `on`/`off`, `true`/`false`, the bare key). */
const bool = proxmoxBooleanSchema();

/** Proxmox's `pve-storage-vgname` format (also for LV names): `^[a-z0-9][a-z0-9\-_.]*[a-z0-9]$`, case-insensitive. */
export const LVM_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]$';

/**
 * The `storage.cfg` options of an `lvm` storage (beyond `content`, `nodes`, `disable`,
 * `shared`), as Proxmox's LVMPlugin accepts them. Values are strings.
 *
 * - `vgname` (required): the volume group holding the LVs.
 * - `base`: the volume id of an iSCSI LUN the VG lives on (Proxmox's "LVM over iSCSI"); the
 *   VG is expected on it. Kept as written.
 * - `saferemove` (`0` default): zero an LV's data before removing it (it is renamed
 *   `del-<name>` first, so it leaves the listing at once).
 * - `saferemove-stepsize` (MiB, 1..32, default 32): size of each zeroing write.
 * - `saferemove_throughput`: cstream's `-t` value in Proxmox; accepted, not applied (zeroing
 *   runs at device speed).
 * - `tagged_only`: list only LVs tagged `pve-vm-<vmid>`.
 * - `snapshot-as-volume-chain`: Proxmox 9's qcow2-on-LV snapshots. Accepted so that such a
 *   storage.cfg loads; `1` is refused by `checkDefinition` (not implemented here).
 *
 * `bwlimit` (both types) is an option of Proxmox's type that core checks and decodes
 * (`storageBandwidthLimit`; applied to streamed copies by the facade).
 */
export const lvmOptionsSchema = Type.Object(
  {
    vgname: Type.String({ pattern: LVM_NAME_PATTERN, description: 'LVM volume group name' }),
    base: Type.Optional(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.-]*:[^\\u0000\\s]+$', description: 'volume id of the iSCSI LUN the VG is on' })),
    saferemove: Type.Optional(bool),
    'saferemove-stepsize': Type.Optional(Type.Union(['1', '2', '4', '8', '16', '32'].map((v) => Type.Literal(v)))),
    saferemove_throughput: Type.Optional(Type.String({ pattern: '^-?\\d+$' })),
    tagged_only: Type.Optional(bool),
    'snapshot-as-volume-chain': Type.Optional(bool),
  },
  { additionalProperties: false },
);

/**
 * The `storage.cfg` options of an `lvmthin` storage, as Proxmox's LvmThinPlugin accepts them:
 * `vgname` and `thinpool` (both required; the installer writes `thinpool data`, `vgname pve`).
 */
export const lvmThinOptionsSchema = Type.Object(
  {
    vgname: Type.String({ pattern: LVM_NAME_PATTERN, description: 'LVM volume group name' }),
    thinpool: Type.String({ pattern: LVM_NAME_PATTERN, description: 'LVM thin pool LV name' }),
  },
  { additionalProperties: false },
);

/** The decoded options of an lvm or lvmthin storage. */
export interface LvmOptions {
  /** Volume group. */
  readonly vg: string;
  /** Thin pool LV (lvmthin only). */
  readonly thinpool?: string;
  /** Zero LVs before removal (lvm). */
  readonly saferemove: boolean;
  /** Bytes per zeroing write (`saferemove-stepsize` MiB, default 32 MiB). */
  readonly saferemoveStepBytes: number;
  /** List only LVs tagged `pve-vm-<vmid>` (lvm). */
  readonly taggedOnly: boolean;
}

const on = (v: string | undefined): boolean => storageFlag(v) === true;

/**
 * Decodes a validated definition's options.
 *
 * @throws InvalidConfigError when `vgname` (or, for lvmthin, `thinpool`) is missing.
 */
export function lvmOptions(def: StorageDefinition): LvmOptions {
  const o = def.options;
  if (!o.vgname) throw new InvalidConfigError('vgname', o.vgname, `storage '${def.id}' (${def.type}): option 'vgname' is required`);
  if (def.type === 'lvmthin' && !o.thinpool) throw new InvalidConfigError('thinpool', o.thinpool, `storage '${def.id}' (lvmthin): option 'thinpool' is required`);
  return {
    vg: o.vgname,
    thinpool: def.type === 'lvmthin' ? o.thinpool : undefined,
    saferemove: on(o.saferemove),
    saferemoveStepBytes: Number(o['saferemove-stepsize'] ?? '32') * 1024 * 1024,
    taggedOnly: on(o.tagged_only),
  };
}
