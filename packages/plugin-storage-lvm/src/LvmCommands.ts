/**
 * argv builders for every LVM command the `lvm` and `lvmthin` drivers run, in the forms
 * Proxmox's LVMPlugin/LvmThinPlugin use, except that reports are read as JSON
 * (`--reportformat json`, exact bytes with `--units b --nosuffix`) instead of `:`-separated
 * text. Pure functions, so tests compare argv exactly. Sizes are given in KiB with a `k`
 * suffix, as Proxmox does (LVM rounds up to whole extents).
 *
 * @packageDocumentation
 */

/** Columns of `lvs` read by the drivers (Proxmox's `lvm_list_volumes` plus `origin`). */
export const LV_COLUMNS = Object.freeze([
  'vg_name',
  'lv_name',
  'lv_size',
  'lv_attr',
  'pool_lv',
  'origin',
  'data_percent',
  'metadata_percent',
  'lv_tags',
  'lv_metadata_size',
  'lv_time',
]);

/** Columns of `vgs` read by the drivers (Proxmox's `lvm_vgs`). */
export const VG_COLUMNS = Object.freeze(['vg_name', 'vg_size', 'vg_free', 'lv_count']);

/** Common report flags: JSON, exact bytes, no headings, lv_time as epoch seconds. */
const REPORT = ['--reportformat', 'json', '--units', 'b', '--nosuffix'] as const;

/** KiB with LVM's `k` suffix, rounded up (`8388608` bytes → `8192k`). */
export function lvmKiB(sizeBytes: number): string {
  return `${Math.ceil(sizeBytes / 1024)}k`;
}

/** argv of the LVM commands of the lvm and lvmthin drivers. */
export const LvmCommands = Object.freeze({
  /** `lvs` report of every LV of `vg` (or of one LV `vg/lv`), JSON, bytes, epoch times. */
  lvs(target: string): string[] {
    return ['lvs', ...REPORT, '--config', 'report/time_format="%s"', '-o', LV_COLUMNS.join(','), target];
  },

  /** `vgs` report of one VG, JSON, bytes. */
  vgs(vg: string): string[] {
    return ['vgs', ...REPORT, '-o', VG_COLUMNS.join(','), vg];
  },

  /** `vgscan --ignorelockingfailure --mknodes` (Proxmox's activate_storage when the VG is not seen). */
  vgscan(): string[] {
    return ['vgscan', '--ignorelockingfailure', '--mknodes'];
  },

  /**
   * A plain LV, Proxmox's `lvcreate`: `lvcreate -aly -Wy --yes --size <KiB>k --name <name>
   * --setautoactivation n [--addtag <tag>...] <vg>`.
   */
  lvcreate(vg: string, name: string, sizeBytes: number, tags: readonly string[] = []): string[] {
    return [
      'lvcreate',
      '-aly',
      '-Wy',
      '--yes',
      '--size',
      lvmKiB(sizeBytes),
      '--name',
      name,
      '--setautoactivation',
      'n',
      ...tags.flatMap((t) => ['--addtag', t]),
      vg,
    ];
  },

  /** A thin LV: `lvcreate -aly -V <KiB>k --name <name> --thinpool <vg>/<pool>` (LvmThinPlugin alloc_image). */
  lvcreateThin(vg: string, pool: string, name: string, sizeBytes: number): string[] {
    return ['lvcreate', '-aly', '-V', lvmKiB(sizeBytes), '--name', name, '--thinpool', `${vg}/${pool}`];
  },

  /** A read-only thin snapshot: `lvcreate -n <snap> -pr -s <vg>/<lv>` (LvmThinPlugin volume_snapshot). */
  thinSnapshot(vg: string, lv: string, snapLv: string): string[] {
    return ['lvcreate', '-n', snapLv, '-pr', '-s', `${vg}/${lv}`];
  },

  /** A writable thin snapshot used as a linked clone: `lvcreate -n <name> -prw -kn -s <vg>/<origin>` (clone_image). */
  thinClone(vg: string, origin: string, name: string): string[] {
    return ['lvcreate', '-n', name, '-prw', '-kn', '-s', `${vg}/${origin}`];
  },

  /** Rollback's re-creation: `lvcreate -kn -n <lv> -s <vg>/<snap>` (volume_snapshot_rollback). */
  thinRestore(vg: string, snapLv: string, name: string): string[] {
    return ['lvcreate', '-kn', '-n', name, '-s', `${vg}/${snapLv}`];
  },

  /** `lvremove -f <vg>/<lv>`. */
  lvremove(vg: string, lv: string): string[] {
    return ['lvremove', '-f', `${vg}/${lv}`];
  },

  /** `lvrename <vg> <from> <to>`. */
  lvrename(vg: string, from: string, to: string): string[] {
    return ['lvrename', vg, from, to];
  },

  /** `lvextend -L <KiB>k <vg>/<lv>` (Proxmox passes the device path; the VG path is the same LV and needs no /dev). */
  lvextend(vg: string, lv: string, sizeBytes: number): string[] {
    return ['lvextend', '-L', lvmKiB(sizeBytes), `${vg}/${lv}`];
  },

  /**
   * Activation: `lvchange -aey <vg>/<lv>` (LVMPlugin, exclusive: shared VGs), `lvchange -ay -K
   * <vg>/<lv>` (LvmThinPlugin, `-K` also activates bases and snapshots that skip activation),
   * `-aly` (local, before zeroing a removed LV).
   */
  activate(vg: string, lv: string, mode: 'exclusive' | 'thin' | 'local'): string[] {
    if (mode === 'thin') return ['lvchange', '-ay', '-K', `${vg}/${lv}`];
    return ['lvchange', mode === 'exclusive' ? '-aey' : '-aly', `${vg}/${lv}`];
  },

  /** `lvchange --refresh <vg>/<lv>` (after activation: another node may have resized it). */
  refresh(vg: string, lv: string): string[] {
    return ['lvchange', '--refresh', `${vg}/${lv}`];
  },

  /** Deactivation: `lvchange -aln <vg>/<lv>` (LVMPlugin) or `lvchange -an <vg>/<lv>` (LvmThinPlugin). */
  deactivate(vg: string, lv: string, mode: 'local' | 'thin'): string[] {
    return ['lvchange', mode === 'local' ? '-aln' : '-an', `${vg}/${lv}`];
  },

  /** Makes a thin LV a template base: read-only and skipped by activation (`lvchange -pr -ky <vg>/<lv>`). */
  makeBase(vg: string, lv: string): string[] {
    return ['lvchange', '-pr', '-ky', `${vg}/${lv}`];
  },

  /** `lvchange --setautoactivation n <vg>/<lv>` (thin LVs: lvcreate does not take it for them). */
  noAutoactivation(vg: string, lv: string): string[] {
    return ['lvchange', '--setautoactivation', 'n', `${vg}/${lv}`];
  },

  /** `vgchange -aln <vg>` (deactivate_storage of LVMPlugin). */
  vgDeactivate(vg: string): string[] {
    return ['vgchange', '-aln', vg];
  },
});
