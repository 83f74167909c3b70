/**
 * The non-guest content of file storages, shared by dir, nfs/cifs and btrfs: Proxmox's
 * directories, `content-dirs`, the file-name rules of each content type and the `import/`
 * names of Proxmox VE 8.2+.
 */
import test from 'ava';
import {
  contentDirOverrides,
  contentSubdir,
  ErrorCodes,
  FileContentLayout,
  isListedFile,
  parseFileVolname,
  refuseArchiveMember,
  UPLOAD_FILE_RULES,
} from '../../src/index.js';

test("content directories are Proxmox's $vtype_subdirs; content-dirs moves the ones it names", (t) => {
  t.is(contentSubdir('import'), 'import');
  t.is(contentSubdir('vztmpl'), 'template/cache');
  const o = contentDirOverrides('iso=isos/x,import=/sources/,images=vm');
  t.deepEqual(o, { iso: 'isos/x', import: 'sources', images: 'vm' });
  t.is(contentSubdir('rootdir', o), 'vm', 'rootdir follows images');
  const layout = new FileContentLayout('/srv/s', o);
  t.is(layout.contentDir('import'), '/srv/s/sources');
  t.is(layout.contentDir('backup'), '/srv/s/dump');
  t.is(layout.filePath({ content: 'import', name: 'a.ova/d.vmdk', archive: 'a.ova' }), '/srv/s/sources/a.ova', 'a disk inside an OVA lives in its archive');
  t.deepEqual(contentDirOverrides('none=x,bogus=y,iso=a;iso=b'), { iso: 'b' }, 'unknown types are dropped; the last of a type wins');
});

test('import/ names decode as pve-storage parse_volname; others of the form are refused', (t) => {
  t.deepEqual(parseFileVolname('import/vm 1.ova'), { content: 'import', name: 'vm 1.ova', format: 'ova' });
  t.deepEqual(parseFileVolname('import/a.ova/OS disk.vmdk'), { content: 'import', name: 'a.ova/OS disk.vmdk', archive: 'a.ova', format: 'ova+vmdk' });
  for (const ext of ['ovf', 'qcow2', 'raw', 'vmdk'] as const) t.is(parseFileVolname(`import/x.${ext}`)?.format, ext);
  for (const bad of ['import/x.foo', 'import/x.OVA', 'import/a/b.raw', 'import/x.ova/y.iso', 'import/x;y.raw']) {
    t.throws(() => parseFileVolname(bad), { code: ErrorCodes.invalidVolumeId }, bad);
  }
  t.is(parseFileVolname('100/vm-100-disk-0.raw'), undefined, 'a guest image is left to the driver');
  t.is(parseFileVolname('vm-100-disk-0'), undefined);
  t.deepEqual(parseFileVolname('backup/vzdump-qemu-101-2024_01_01-00_00_00.vma.zst'), {
    content: 'backup',
    name: 'vzdump-qemu-101-2024_01_01-00_00_00.vma.zst',
    format: 'vma',
    vmid: 101,
  });
  t.is(parseFileVolname('vztmpl/debian.tar.xz')?.format, 'txz');
});

test('listings take the files get_subdir_files takes; uploads follow the upload rules', (t) => {
  t.true(isListedFile('import', 'a.ova'));
  t.false(isListedFile('import', 'with space.ova'), 'names with blanks are named, not listed');
  t.false(isListedFile('import', '.a.ova'));
  t.false(isListedFile('iso', 'x.txt'));
  t.true(isListedFile('snippets', 'hook.pl'));
  t.true(UPLOAD_FILE_RULES.import!.re.test('a.vmdk'));
  t.false(UPLOAD_FILE_RULES.import!.re.test('a.ovf'), 'an ovf without its disks is not uploaded');
  t.is(UPLOAD_FILE_RULES.images, undefined);
});

test('a disk inside an OVA is refused for operations that need a file of its own', (t) => {
  t.notThrows(() => refuseArchiveMember('s:import/a.ova', {}, 'free'));
  const err = t.throws(() => refuseArchiveMember('s:import/a.ova/d.vmdk', { archive: 'a.ova' }, 'free'), { code: ErrorCodes.notSupported });
  t.is((err as { operation?: string }).operation, 'free');
});
