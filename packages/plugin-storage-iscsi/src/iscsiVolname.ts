import { InvalidVolumeIdError, type ParsedVolname } from '@corral/core';

/** A decoded `iscsi` volume name: `<channel>.<id>.<lun>.<stable name>` (Proxmox's ISCSIPlugin). */
export interface IscsiVolname extends ParsedVolname {
  readonly channel: number;
  readonly scsiId: number;
  readonly lun: number;
  /** The device's name in `/dev/disk/by-id` (`scsi-36001405...`, `dm-uuid-mpath-...`). */
  readonly name: string;
}

/** A decoded `iscsidirect` volume name: `lun<N>` (Proxmox's ISCSIDirectPlugin). */
export interface IscsiDirectVolname extends ParsedVolname {
  readonly lun: number;
}

/**
 * Decodes an `iscsi` volume name, `0.0.1.scsi-360000000000000000e00000000010001`: the SCSI
 * channel, target id and LUN of the kernel's device, then its name in `/dev/disk/by-id`.
 * Content `images`, format `raw`, no owner.
 *
 * @throws InvalidVolumeIdError for anything else.
 */
export function parseIscsiVolname(volname: string): IscsiVolname {
  const m = /^(\d+)\.(\d+)\.(\d+)\.([^/\s]+)$/.exec(volname);
  if (!m || m[4] === '.' || m[4] === '..') throw new InvalidVolumeIdError(volname, 'not an iscsi volume name (<channel>.<id>.<lun>.<by-id name>)');
  return { volname, content: 'images', name: m[4]!, format: 'raw', isBase: false, channel: Number(m[1]), scsiId: Number(m[2]), lun: Number(m[3]) };
}

/**
 * Decodes an `iscsidirect` volume name, `lun<N>`: LUN N of the storage's target. Content
 * `images`, format `raw`, no owner.
 *
 * @throws InvalidVolumeIdError for anything else: leading zeros (`lun01` would name the same
 *   LUN as `lun1`) and LUNs above 16383 (the SAM flat addressing limit) included.
 */
export function parseIscsiDirectVolname(volname: string): IscsiDirectVolname {
  const m = /^lun(0|[1-9]\d{0,4})$/.exec(volname);
  if (!m || Number(m[1]) > 16383) throw new InvalidVolumeIdError(volname, 'not an iscsidirect volume name (lun<N>)');
  return { volname, content: 'images', name: volname, format: 'raw', isBase: false, lun: Number(m[1]) };
}
