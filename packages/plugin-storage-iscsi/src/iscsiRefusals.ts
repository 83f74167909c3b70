import { NotSupportedError, type TransferFormat } from '@corral/core';

/** iSCSI LUNs have no snapshots: `NotSupportedError` when one is named. */
export function refuseSnapshot(type: string, snapshot: string | undefined): void {
  if (snapshot !== undefined) throw new NotSupportedError('snapshot', `volume snapshot is not possible on storage type '${type}'`);
}

/** Only `raw+size` of the current state exports (Proxmox's `volume_export`). */
export function refuseTransferOptions(type: string, options: { format: TransferFormat; snapshot?: string }): void {
  if (options.format !== 'raw+size') throw new NotSupportedError('export', `storage type '${type}' exports raw+size only, not '${options.format}'`);
  refuseSnapshot(type, options.snapshot);
}
