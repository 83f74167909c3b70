/**
 * storage.cfg as Proxmox VE writes it (the installer's defaults, a cluster with every storage
 * type, a VE 6 file): every section reads, round-trips byte for byte, and loads in a kernel
 * without any storage plugin as definitions without a driver (listed, inactive, kept).
 */
import test from 'ava';
import { Type } from '@sinclair/typebox';
import { ErrorCodes, InvalidConfigError, ParseError, ROOT_CALLER, type StorageDriverInfo } from '../../src/index.js';
import { storageOptionsProblem, toStorageDefinition } from '../../src/storage/storageDefinitions.js';
import { readSectionConfig, serializeSectionConfig } from '../../src/formats/sectionConfig.js';
import { StorageConfigFile } from '../../src/storage/StorageConfigFile.js';
import { createTestKernel, PROXMOX_STORAGE_CFG_SAMPLES } from '../../src/testing/index.js';

for (const s of PROXMOX_STORAGE_CFG_SAMPLES) {
  test(`${s.name}: every section reads and is written back as Proxmox writes it`, (t) => {
    const read = readSectionConfig(s.text, { source: 'storage.cfg' });
    t.deepEqual(read.invalid.map((p) => p.error.message), []);
    t.deepEqual(read.sections.map((x) => `${x.type}: ${x.id}`), s.sections);
    t.is(serializeSectionConfig(read.sections), s.written);
    for (const x of read.sections) t.is(storageOptionsProblem(x.id, x.type, x.options, undefined), undefined, `${x.type}: ${x.id}`);
  });

  test(`${s.name}: loads in a kernel without storage plugins: listed, no driver, inactive, kept byte for byte`, async (t) => {
    const kernel = await createTestKernel(t);
    await kernel.config.write('storage.cfg', s.text);
    const defs = await kernel.storage.list();
    t.deepEqual(defs.map((d) => `${d.type}: ${d.id}`), s.sections);
    for (const d of defs) {
      const status = await kernel.storage.status(d.id);
      t.false(status.driver, d.id);
      t.false(status.active, d.id);
      t.deepEqual(await kernel.storage.get(d.id), d);
    }
    t.true(kernel.logger.lines.some((l) => l.level === 'warn' && /no driver is loaded: it is inactive/.test(l.message)));
    await t.throwsAsync(kernel.storage.listVolumes(defs[0]!.id), { code: ErrorCodes.unavailable, message: /no plugin provides that type/ });
    // Removing one storage writes the others back as they were.
    const last = defs.at(-1)!;
    await kernel.storage.remove(last.id, { caller: ROOT_CALLER });
    const after = (await kernel.config.read('storage.cfg'))!.content;
    const expected = serializeSectionConfig(readSectionConfig(s.written).sections.filter((x) => x.id !== last.id));
    t.is(after, expected);
    t.true(s.written.startsWith(after), 'the sections before are unchanged, byte for byte');
  });
}

test('the installer defaults: content import, the bare sparse flag and a disabled local keep their meaning', async (t) => {
  const kernel = await createTestKernel(t);
  const [lvm, zfs, btrfs] = PROXMOX_STORAGE_CFG_SAMPLES;
  await kernel.config.write('storage.cfg', lvm!.text);
  const local = await kernel.storage.get('local');
  t.deepEqual(local.content, ['iso', 'vztmpl', 'backup', 'import'], 'import is a content type (Proxmox VE 8.2+)');
  t.is(local.options.content, 'iso,vztmpl,backup,import');
  t.deepEqual((await kernel.storage.get('local-lvm')).content, ['rootdir', 'images']);
  t.false((await kernel.storage.get('local-lvm')).shared);
  await kernel.config.write('storage.cfg', zfs!.text);
  t.is((await kernel.storage.get('local-zfs')).options.sparse, '');
  await kernel.config.write('storage.cfg', btrfs!.text);
  t.true((await kernel.storage.get('local')).disabled);
  t.false((await kernel.storage.status('local')).enabled);
  const cluster = PROXMOX_STORAGE_CFG_SAMPLES[4]!;
  await kernel.config.write('storage.cfg', cluster.text);
  t.true((await kernel.storage.get('nas-iso')).shared, 'nfs is shared as in Proxmox');
  t.deepEqual((await kernel.storage.get('nas-backup')).disabled, true);
  t.deepEqual((await kernel.storage.get('san')).content, [], 'content none');
});

/** A driver of Proxmox's `dir` type with a small schema of its own. */
const DIR_INFO = {
  type: 'dir',
  contentTypes: ['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets'],
  optionsSchema: Type.Object({ path: Type.String({ pattern: '^/' }) }),
} as unknown as StorageDriverInfo;

const BAD: ReadonlyArray<{ title: string; section: string; key: string; line: number; mentions: RegExp; driver?: boolean }> = [
  { title: 'an unknown content type', section: 'dir: bad\n\tpath /srv/a\n\tcontent images,pictures', key: 'content', line: 3, mentions: /unknown content type 'pictures'/ },
  { title: 'content a type cannot hold', section: 'lvmthin: bad\n\tthinpool data\n\tvgname pve\n\tcontent iso', key: 'content', line: 4, mentions: /cannot hold content 'iso'/ },
  { title: 'none with other content', section: 'iscsi: bad\n\tportal 10.0.0.1\n\ttarget iqn.x\n\tcontent none,images', key: 'content', line: 4, mentions: /'none' cannot be combined/ },
  { title: 'a bad boolean', section: 'zfspool: bad\n\tpool tank\n\tsparse maybe', key: 'sparse', line: 3, mentions: /option 'sparse' has invalid value 'maybe'/ },
  { title: 'a bad bwlimit key', section: 'lvmthin: bad\n\tthinpool data\n\tvgname pve\n\tbwlimit fast=1', key: 'bwlimit', line: 4, mentions: /option 'bwlimit'.*'fast=1'/ },
  { title: 'a bad bwlimit value', section: 'nfs: bad\n\tserver s\n\texport /e\n\tpath /mnt/a\n\tbwlimit clone=lots', key: 'bwlimit', line: 5, mentions: /KiB\/s/ },
  { title: 'a bad prune-backups', section: 'dir: bad\n\tpath /srv/a\n\tprune-backups keep-forever=1', key: 'prune-backups', line: 3, mentions: /option 'prune-backups'/ },
  { title: 'keep-all with other prune options', section: 'dir: bad\n\tpath /srv/a\n\tprune-backups keep-all=1,keep-last=2', key: 'prune-backups', line: 3, mentions: /keep-all cannot be set together/ },
  { title: 'content-dirs leaving the storage', section: 'dir: bad\n\tpath /srv/a\n\tcontent-dirs iso=../../etc', key: 'content-dirs', line: 3, mentions: /leaves the storage/ },
  { title: 'a bad maxfiles', section: 'dir: bad\n\tpath /srv/a\n\tmaxfiles -2', key: 'maxfiles', line: 3, mentions: /option 'maxfiles'/ },
  { title: 'a bad LVM name', section: 'lvmthin: bad\n\tthinpool data!\n\tvgname pve', key: 'thinpool', line: 2, mentions: /LVM name/ },
  { title: 'a bad smbversion', section: 'cifs: bad\n\tserver s\n\tshare x\n\tpath /mnt/a\n\tsmbversion 4', key: 'smbversion', line: 5, mentions: /one of default, 2\.0/ },
  { title: 'a format the type lacks', section: 'zfspool: bad\n\tpool tank\n\tformat qcow2', key: 'format', line: 3, mentions: /no format 'qcow2'/ },
  { title: 'a bad port', section: 'pbs: bad\n\tserver s\n\tdatastore d\n\tport 70000', key: 'port', line: 4, mentions: /option 'port'/ },
  { title: 'an option the driver does not know', section: 'dir: bad\n\tpath /srv/a\n\tthinpool data', key: 'thinpool', line: 3, mentions: /option 'thinpool' is not known for type 'dir'/, driver: true },
  { title: "a value the driver's schema refuses", section: 'dir: bad\n\tpath relative', key: 'path', line: 2, mentions: /option 'path' has invalid value 'relative'/, driver: true },
  { title: 'a missing required option', section: 'dir: bad\n\tcontent iso', key: 'path', line: 1, mentions: /option 'path' is required/, driver: true },
];

for (const c of BAD) {
  test(`a section with ${c.title} is broken with a ParseError naming the storage, '${c.key}' and line ${c.line + 3}; the rest loads`, async (t) => {
    const store = (await createTestKernel(t)).config;
    await store.write('storage.cfg', `dir: good\n\tpath /srv/good\n\n${c.section}\n\n`);
    const file = new StorageConfigFile(store, (type) => (c.driver && type === 'dir' ? DIR_INFO : undefined));
    const snapshot = await file.read();
    t.deepEqual(snapshot.sections.map((s) => s.id), ['good']);
    const err = t.throws(() => file.requireSection(snapshot, 'bad'), { instanceOf: ParseError });
    t.is(err!.code, ErrorCodes.parse);
    t.is(err!.line, c.line + 3);
    t.regex(err!.message, /^storage\.cfg:\d+: storage 'bad'/);
    t.regex(err!.message, c.mentions);
    t.true(err!.cause instanceof InvalidConfigError);
    t.is((err!.cause as InvalidConfigError).key, c.key);
    // Writing keeps the broken section as it was.
    await file.write(snapshot.sections, snapshot.digest);
    t.true((await store.read('storage.cfg'))!.content.includes(`${c.section}\n\n`));
  });
}

test('without a driver, options Proxmox does not know for the type are kept (a driver may add its own)', (t) => {
  t.is(storageOptionsProblem('a', 'lvmthin', { thinpool: 'data', vgname: 'pve', 'corral-extra': 'x' }, undefined), undefined);
  t.is(storageOptionsProblem('a', 'purestorage', { anything: 'goes', content: 'images' }, undefined), undefined);
  t.regex(storageOptionsProblem('a', 'purestorage', { content: 'pictures' }, undefined)!.message, /unknown content type/);
});

test('a driver that predates content import still loads a section naming it: import is kept in the options only', (t) => {
  const section = { id: 'local', type: 'dir', options: { path: '/var/lib/vz', content: 'iso,vztmpl,backup,import' } };
  t.is(storageOptionsProblem(section.id, section.type, section.options, DIR_INFO), undefined);
  const def = toStorageDefinition(section.id, DIR_INFO, section.options);
  t.deepEqual(def.content, ['iso', 'vztmpl', 'backup']);
  t.is(def.options.content, 'iso,vztmpl,backup,import');
  const withImport = { ...DIR_INFO, contentTypes: [...DIR_INFO.contentTypes, 'import'] } as StorageDriverInfo;
  t.deepEqual(toStorageDefinition(section.id, withImport, section.options).content, ['iso', 'vztmpl', 'backup', 'import']);
  const lvm = storageOptionsProblem('l', 'lvmthin', { thinpool: 'data', vgname: 'pve', content: 'images,import' }, undefined);
  t.regex(lvm?.message ?? '', /cannot hold content 'import'/, "a type whose Proxmox counterpart has no import refuses it");
});
