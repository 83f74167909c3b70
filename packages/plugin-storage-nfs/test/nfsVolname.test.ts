import test from 'ava';
import { ErrorCodes, parseShareVolname, ShareLayout, shareOptions, type StorageDefinition } from '@corral/core';
import { nfsMountSpec } from '../src/index.js';

test('nfs volume names decode as Proxmox file-storage names', (t) => {
  t.like(parseShareVolname('100/vm-100-disk-0.qcow2'), {
    content: 'images',
    vmid: 100,
    name: 'vm-100-disk-0.qcow2',
    format: 'qcow2',
    isBase: false,
  });
  t.like(parseShareVolname('100/base-100-disk-0.raw'), {
    isBase: true,
    format: 'raw',
  });
  t.deepEqual(parseShareVolname('100/base-100-disk-0.raw/101/vm-101-disk-0.qcow2').base, { vmid: 100, name: 'base-100-disk-0.raw' });
  t.like(parseShareVolname('iso/debian.ISO'), { content: 'iso', format: 'iso' });
  t.like(parseShareVolname('vztmpl/debian-12.tar.zst'), { content: 'vztmpl' });
  t.like(parseShareVolname('backup/vzdump-qemu-105-2026_12_08-00_00_00.vma.zst'), { content: 'backup', vmid: 105, format: 'vma' });
  t.like(parseShareVolname('snippets/user.yaml'), {
    content: 'snippets',
    format: 'file',
  });
});

test('names of other types, subvols, vmdk and bad extensions are InvalidVolumeIdError', (t) => {
  for (const bad of [
    'vm-100-disk-0',
    '100/subvol-100-disk-0.subvol',
    '100/vm-100-disk-0.vmdk',
    'tank/vm-100-disk-0',
    'iso/x.dvd',
    'vztmpl/x.zip',
    '0100/vm-1.raw',
    '100/vm-100-disk-0.raw/101/vm-101-disk-0.qcow2',
    '1/2/3',
  ]) {
    t.throws(() => parseShareVolname(bad), { code: ErrorCodes.invalidVolumeId }, bad);
  }
});

test('content-dirs override the layout per content type', (t) => {
  const def: StorageDefinition = {
    id: 'nas',
    type: 'nfs',
    content: ['images'],
    nodes: [],
    disabled: false,
    shared: true,
    options: {
      server: '[fd00::5]',
      export: '/srv',
      path: '/mnt/pve/nas',
      'content-dirs': 'iso=isos/x,backup=/dumps/',
    },
  };
  t.is(nfsMountSpec(def).server, 'fd00::5', 'brackets are dropped');
  const o = shareOptions(def);
  const layout = new ShareLayout(o.path, o.contentDirs);
  t.is(layout.contentDir('iso'), '/mnt/pve/nas/isos/x');
  t.is(layout.contentDir('backup'), '/mnt/pve/nas/dumps');
  t.is(layout.pathOf({ content: 'images', vmid: 7, name: 'vm-7-disk-0.raw' }), '/mnt/pve/nas/images/7/vm-7-disk-0.raw');
});

test('import sources are named as on dir; a disk inside an OVA maps to its archive and has no path of its own', async (t) => {
  t.like(parseShareVolname('import/appliance.ova'), { content: 'import', name: 'appliance.ova', format: 'ova' });
  const member = parseShareVolname('import/appliance.ova/disk-1.vmdk');
  t.like(member, { content: 'import', archive: 'appliance.ova', format: 'ova+vmdk' });
  const layout = new ShareLayout('/mnt/pve/nas', { import: 'sources' });
  t.is(layout.relativePathOf(member), 'sources/appliance.ova');
  t.throws(() => parseShareVolname('import/appliance.exe'), { code: ErrorCodes.invalidVolumeId });
});
