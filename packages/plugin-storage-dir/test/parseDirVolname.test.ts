import test from 'ava';
import { ErrorCodes } from '@corral/core';
import { parseDirVolname, type DirVolname } from '../src/index.js';

// Table ported from pve-storage src/test/parse_volname_test.pm (description / volname /
// expected). Proxmox's tuple (vtype, name, vmid, basename, basevmid, isBase, format) maps to
// DirVolname fields. Differences, on purpose: subvols are content 'rootdir'; iso, vztmpl,
// backup and snippet files carry their file kind as format instead of 'raw'; a disk inside an
// OVA also names its archive; 'rootdir/<vmid>' is not supported (refused as invalid).

const vmid = 1234;

interface Case {
  readonly description: string;
  readonly volname: string;
  /** The decoded name, or the start of the InvalidVolumeIdError message. */
  readonly expected: Partial<DirVolname> | { error: string };
}

const img = (name: string, format: DirVolname['format'], extra: Partial<DirVolname> = {}): Partial<DirVolname> => ({
  content: format === 'subvol' ? 'rootdir' : 'images',
  name,
  vmid,
  baseName: undefined,
  baseVmid: undefined,
  isBase: false,
  format,
  ...extra,
});

const cases: Case[] = [
  {
    description: 'VM disk image, linked, qcow2, vm- as base-',
    volname: `${vmid}/vm-${vmid}-disk-0.qcow2/${vmid}/vm-${vmid}-disk-0.qcow2`,
    expected: img(`vm-${vmid}-disk-0.qcow2`, 'qcow2', { baseName: `vm-${vmid}-disk-0.qcow2`, baseVmid: vmid }),
  },
  { description: 'ISO image, iso', volname: 'iso/some-installation-disk.iso', expected: { content: 'iso', name: 'some-installation-disk.iso', vmid: undefined, format: 'iso' } },
  { description: 'ISO image, img', volname: 'iso/some-other-installation-disk.img', expected: { content: 'iso', name: 'some-other-installation-disk.img', format: 'iso' } },
  { description: 'ISO image, upper case extension', volname: 'iso/INSTALL.ISO', expected: { content: 'iso', name: 'INSTALL.ISO', format: 'iso' } },
  { description: 'Container template tar', volname: 'vztmpl/debian-10.0-standard_10.0-1_amd64.tar', expected: { content: 'vztmpl', name: 'debian-10.0-standard_10.0-1_amd64.tar', format: 'tar' } },
  { description: 'Container template tar.gz', volname: 'vztmpl/debian-10.0-standard_10.0-1_amd64.tar.gz', expected: { content: 'vztmpl', format: 'tgz' } },
  { description: 'Container template tar.xz', volname: 'vztmpl/debian-10.0-standard_10.0-1_amd64.tar.xz', expected: { content: 'vztmpl', format: 'txz' } },
  { description: 'Container template tar.zst', volname: 'vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', expected: { content: 'vztmpl', format: 'tzst' } },
  { description: 'Container template tar.bz2', volname: 'vztmpl/debian-10.0-standard_10.0-1_amd64.tar.bz2', expected: { content: 'vztmpl', format: 'file' } },
  { description: 'Container rootdir, subvol', volname: `${vmid}/subvol-${vmid}-disk-0.subvol`, expected: img(`subvol-${vmid}-disk-0.subvol`, 'subvol') },
  {
    description: 'Backup archive, no virtualization type',
    volname: `backup/vzdump-none-${vmid}-2020_03_30-21_39_30.tar`,
    expected: { content: 'backup', name: `vzdump-none-${vmid}-2020_03_30-21_39_30.tar`, vmid: undefined, format: 'tar' },
  },
  { description: 'Snippets, yaml', volname: 'snippets/userconfig.yaml', expected: { content: 'snippets', name: 'userconfig.yaml', format: 'file' } },
  { description: 'Snippets, perl', volname: 'snippets/hookscript.pl', expected: { content: 'snippets', name: 'hookscript.pl', format: 'file' } },
  // failed matches (same inputs and messages as pve-storage)
  { description: 'Failed match: VM disk image, base, raw', volname: `ssss/base-${vmid}-disk-0.raw`, expected: { error: 'unable to parse directory volume name' } },
  { description: 'Failed match: ISO image, dvd', volname: 'iso/yet-again-a-installation-disk.dvd', expected: { error: 'unable to parse directory volume name' } },
  { description: 'Failed match: Container template, zip.gz', volname: 'vztmpl/debian-10.0-standard_10.0-1_amd64.zip.gz', expected: { error: 'unable to parse directory volume name' } },
  { description: 'Failed match: VM disk image, linked, vhdx', volname: `${vmid}/base-${vmid}-disk-0.vhdx/${vmid}/vm-${vmid}-disk-0.vhdx`, expected: { error: `unable to parse volume filename 'base-${vmid}-disk-0.vhdx'` } },
  {
    description: 'Failed match: VM disk image, linked, qcow2, first vmid',
    volname: `ssss/base-${vmid}-disk-0.qcow2/${vmid}/vm-${vmid}-disk-0.qcow2`,
    expected: { error: 'unable to parse directory volume name' },
  },
  {
    description: 'Failed match: VM disk image, linked, qcow2, second vmid',
    volname: `${vmid}/base-${vmid}-disk-0.qcow2/ssss/vm-${vmid}-disk-0.qcow2`,
    expected: { error: `unable to parse volume filename 'base-${vmid}-disk-0.qcow2/ssss/vm-${vmid}-disk-0.qcow2'` },
  },
  { description: 'Import, ova', volname: 'import/import.ova', expected: { content: 'import', name: 'import.ova', isBase: false, format: 'ova' } },
  { description: 'Import, ovf', volname: 'import/import.ovf', expected: { content: 'import', name: 'import.ovf', isBase: false, format: 'ovf' } },
  { description: 'Import, inner file of ova, qcow2', volname: 'import/import.ova/disk.qcow2', expected: { content: 'import', name: 'import.ova/disk.qcow2', archive: 'import.ova', format: 'ova+qcow2' } },
  { description: 'Import, inner file of ova, vmdk', volname: 'import/import.ova/disk.vmdk', expected: { content: 'import', name: 'import.ova/disk.vmdk', archive: 'import.ova', format: 'ova+vmdk' } },
  { description: 'Import, inner file of ova with whitespace in name', volname: 'import/import.ova/OS disk.vmdk', expected: { content: 'import', name: 'import.ova/OS disk.vmdk', format: 'ova+vmdk' } },
  { description: 'Import, inner file of ova, raw', volname: 'import/import.ova/disk.raw', expected: { content: 'import', name: 'import.ova/disk.raw', format: 'ova+raw' } },
  { description: 'Failed match: import dir but no ova/ovf/disk image', volname: 'import/test.foo', expected: { error: 'unable to parse directory volume name' } },
  { description: 'Failed match: OpenVZ rootdir (not supported here)', volname: `rootdir/${vmid}`, expected: { error: 'unable to parse directory volume name' } },
  // Corral's own refusals, before any regex
  { description: 'Traversal in an image name', volname: `${vmid}/../../etc/passwd`, expected: { error: "path traversal ('..')" } },
  { description: 'Traversal in an iso name', volname: 'iso/../../../etc/shadow.iso', expected: { error: "path traversal ('..')" } },
  { description: 'Absolute path', volname: '/etc/passwd', expected: { error: 'absolute paths are not volume names' } },
  { description: 'NUL byte', volname: `${vmid}/vm-${vmid}-disk-0.raw\0.qcow2`, expected: { error: 'contains U+0000 (NUL)' } },
  { description: 'Empty segment', volname: `${vmid}//vm-${vmid}-disk-0.raw`, expected: { error: 'empty path segment' } },
  { description: 'Zvol-style name of another storage type', volname: `vm-${vmid}-disk-0`, expected: { error: 'unable to parse directory volume name' } },
  { description: 'Image without an extension', volname: `${vmid}/vm-${vmid}-disk-0`, expected: { error: 'unable to parse volume filename' } },
  { description: 'Image with whitespace', volname: `${vmid}/vm ${vmid}.raw`, expected: { error: 'unable to parse directory volume name' } },
  { description: 'Image in a subdirectory', volname: `${vmid}/sub/vm-${vmid}-disk-0.raw`, expected: { error: "unable to parse volume filename 'sub/vm-" } },
  { description: 'Only an extension', volname: 'iso/.iso', expected: { error: 'unable to parse directory volume name' } },
];

// generated cases, as in parse_volname_test.pm
for (const s of ['raw', 'qcow2', 'vmdk'] as const) {
  cases.push(
    { description: `VM disk image, ${s}`, volname: `${vmid}/vm-${vmid}-disk-1.${s}`, expected: img(`vm-${vmid}-disk-1.${s}`, s) },
    {
      description: `VM disk image, linked, ${s}`,
      volname: `${vmid}/base-${vmid}-disk-0.${s}/${vmid}/vm-${vmid}-disk-0.${s}`,
      expected: img(`vm-${vmid}-disk-0.${s}`, s, { baseName: `base-${vmid}-disk-0.${s}`, baseVmid: vmid }),
    },
    { description: `VM disk image, base, ${s}`, volname: `${vmid}/base-${vmid}-disk-0.${s}`, expected: img(`base-${vmid}-disk-0.${s}`, s, { isBase: true }) },
  );
}
const backupSuffixes: Record<string, Array<[string, DirVolname['format']]>> = {
  qemu: [['vma', 'vma'], ['vma.gz', 'vma'], ['vma.lzo', 'vma'], ['vma.zst', 'vma']],
  lxc: [['tar', 'tar'], ['tgz', 'tgz'], ['tar.gz', 'tgz'], ['tar.lzo', 'file'], ['tar.zst', 'tzst'], ['tar.bz2', 'file']],
  openvz: [['tar', 'tar'], ['tgz', 'tgz'], ['tar.gz', 'tgz'], ['tar.lzo', 'file'], ['tar.zst', 'tzst']],
};
for (const [virt, suffixes] of Object.entries(backupSuffixes)) {
  for (const [s, format] of suffixes) {
    cases.push({
      description: `Backup archive, ${virt}, ${s}`,
      volname: `backup/vzdump-${virt}-${vmid}-2020_03_30-21_12_40.${s}`,
      expected: { content: 'backup', name: `vzdump-${virt}-${vmid}-2020_03_30-21_12_40.${s}`, vmid, format },
    });
  }
}
for (const [virt, suffixes] of Object.entries({ qemu: ['vms.gz', 'vma.xz'], lxc: ['zip.gz', 'tgz.lzo'] })) {
  for (const s of suffixes) {
    cases.push({
      description: `Failed match: Backup archive, ${virt}, ${s}`,
      volname: `backup/vzdump-${virt}-${vmid}-2020_03_30-21_12_40.${s}`,
      expected: { error: 'unable to parse directory volume name' },
    });
  }
}

for (const c of cases) {
  test(`parseDirVolname: ${c.description}`, (t) => {
    if ('error' in c.expected) {
      const err = t.throws(() => parseDirVolname(c.volname), { code: ErrorCodes.invalidVolumeId });
      t.true(err?.message.includes(c.expected.error), `message '${err?.message}' should contain '${c.expected.error}'`);
      return;
    }
    const got = parseDirVolname(c.volname);
    for (const [k, v] of Object.entries(c.expected)) t.deepEqual(got[k as keyof DirVolname], v, `field ${k}`);
  });
}
