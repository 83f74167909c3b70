import type { VolumeFormat } from '@corral/core';
import type { ConformanceEnv } from './ConformanceEnv.js';
import { hasPattern, MiB, readMarkerFile, writeMarkerFile, writePattern } from './volumeBytes.js';

/**
 * Writes and recognises a mark (a byte value) in a volume of any kind, so that one check can
 * cover images and container volumes: an image gets its first MiB filled with the byte, a
 * subvol (`directory` access) a file `corral-conformance/mark` holding it.
 */
export class VolumeMarks {
  constructor(
    private readonly env: ConformanceEnv,
    readonly format: VolumeFormat,
  ) {}

  get isSubvol(): boolean {
    return this.format === 'subvol';
  }

  /** Allocates a volume of the format (8 MiB images; subvols without a size). */
  async allocate(vmid = this.env.vmid()): Promise<string> {
    if (!this.isSubvol) return this.env.allocImage(this.format, { vmid, sizeBytes: 8 * MiB });
    return this.env.storage.allocate({ storage: this.env.sid, vmid, sizeBytes: 0, format: 'subvol', content: 'rootdir' });
  }

  /** The disk name prefix of a new volume (`vm` or `subvol`). */
  get prefix(): string {
    return this.isSubvol ? 'subvol' : 'vm';
  }

  /** The name prefix of a template base, as Proxmox spells it (`base`, `basevol` for zfs subvols). */
  get basePrefix(): RegExp {
    return this.isSubvol ? /^base(?:vol)?$/ : /^base$/;
  }

  async write(volid: string, mark: number): Promise<void> {
    const access = await this.env.access(volid, this.isSubvol ? 'container' : 'host');
    if (this.isSubvol) await writeMarkerFile(access, 'corral-conformance/mark', `mark-${mark}\n`);
    else await writePattern(this.env.runner, access, { offset: 0, length: MiB, byte: mark });
    await this.env.release(volid);
  }

  async holds(volid: string, mark: number): Promise<boolean> {
    const access = await this.env.access(volid, this.isSubvol ? 'container' : 'host');
    try {
      if (this.isSubvol) return (await readMarkerFile(access, 'corral-conformance/mark')) === `mark-${mark}\n`;
      return await hasPattern(this.env.runner, access, { offset: 0, length: MiB, byte: mark });
    } finally {
      await this.env.release(volid);
    }
  }
}
