/**
 * Real storage.cfg texts of Proxmox VE, for tests that Corral reads, keeps and writes them.
 *
 * - The installer's defaults: proxmox-installer `Proxmox::Install::StorageConfig`
 *   (`get_lvm_thin_config`, `get_zfs_config`, `get_btrfs_config`, `get_local_config`), as
 *   Proxmox VE 8.2+/9 writes them at install time: no empty line after the last section, and
 *   `sparse` written as a key alone.
 * - A cluster's file in the shape pve-common's `SectionConfig::write_config` writes (header,
 *   `disable` first, the type's required options sorted, then the optional ones sorted, booleans
 *   as `0`/`1`, an empty line after every section), with every type of pve-storage
 *   `src/PVE/Storage/*Plugin.pm` (glusterfs as Proxmox VE 8 had it) and the options those
 *   plugins declare. Addresses and names are made up.
 * - A file of Proxmox VE 6 (`maxfiles`, removed in VE 7, still found in upgraded clusters).
 *
 * @packageDocumentation
 */
import type { ExecutionContext } from 'ava';

/** One storage.cfg text and what a reader must find in it. */
export interface StorageCfgSample {
  readonly name: string;
  readonly text: string;
  /** `type: id` of every section, in file order. */
  readonly sections: readonly string[];
  /**
   * What Corral's writer (and Proxmox's, for the options as written) makes of the text read:
   * the text itself when it is in Proxmox's writer shape; the installer's texts gain the empty
   * line that ends the last section.
   */
  readonly written: string;
}

const INSTALLER_LVM_THIN = 'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup,import\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n';
const INSTALLER_ZFS = 'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup,import\n\nzfspool: local-zfs\n\tpool rpool/data\n\tsparse\n\tcontent images,rootdir\n';
const INSTALLER_BTRFS =
  'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\tdisable\n\nbtrfs: local-btrfs\n\tpath /var/lib/pve/local-btrfs\n\tcontent iso,vztmpl,backup,images,rootdir,import\n';
const INSTALLER_LOCAL = 'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup,rootdir,images,import\n';

const CLUSTER = [
  'dir: local',
  '\tpath /var/lib/vz',
  '\tcontent iso,vztmpl,backup,import',
  '\tprune-backups keep-all=1',
  '\tshared 0',
  '',
  'lvmthin: local-lvm',
  '\tthinpool data',
  '\tvgname pve',
  '\tcontent rootdir,images',
  '\tnodes pve1,pve2,pve3',
  '',
  'dir: bulk',
  '\tpath /mnt/bulk',
  '\tbwlimit clone=204800,move=102400',
  '\tcontent images,iso,backup,snippets',
  '\tcontent-dirs backup=dumps,iso=isos',
  '\tcreate-base-path 0',
  '\tcreate-subdirs 1',
  '\tformat qcow2',
  '\tis_mountpoint yes',
  '\tmax-protected-backups 5',
  '\tnodes pve1',
  '\tpreallocation falloc',
  '\tprune-backups keep-last=5,keep-monthly=2',
  '\tshared 0',
  '',
  'zfspool: tank',
  '\tpool tank/guests',
  '\tblocksize 16k',
  '\tbwlimit default=512000',
  '\tcontent images,rootdir',
  '\tmountpoint /tank/guests',
  '\tnodes pve2',
  '\tsparse 1',
  '',
  'nfs: nas-iso',
  '\texport /volume1/pve',
  '\tpath /mnt/pve/nas-iso',
  '\tserver 192.168.10.20',
  '\tcontent iso,vztmpl,import',
  '\toptions vers=4.2',
  '\tprune-backups keep-all=1',
  '',
  'nfs: nas-backup',
  '\tdisable',
  '\texport /volume1/backup',
  '\tpath /mnt/pve/nas-backup',
  '\tserver nas.example.com',
  '\tbwlimit default=102400,restore=51200',
  '\tcontent backup',
  '\tcontent-dirs backup=dumps/pve',
  '\tcreate-base-path 0',
  '\tcreate-subdirs 1',
  '\tmax-protected-backups 3',
  '\tprune-backups keep-daily=7,keep-last=3,keep-weekly=4',
  '',
  'cifs: win-share',
  '\tpath /mnt/pve/win-share',
  '\tserver 10.0.0.50',
  '\tshare proxmox',
  '\tcontent images,backup',
  '\tdomain EXAMPLE',
  '\tpreallocation metadata',
  '\tprune-backups keep-last=2',
  '\tsmbversion 3.0',
  '\tsubdir /pve',
  '\tusername pveuser',
  '',
  'rbd: ceph-vm',
  '\tcontent images,rootdir',
  '\tkrbd 0',
  '\tmonhost 10.10.10.1 10.10.10.2 10.10.10.3',
  '\tpool vm-pool',
  '\tusername admin',
  '',
  'rbd: ceph-ext',
  '\tcontent images',
  '\tdata-pool ec-data',
  '\tkrbd 1',
  '\tmonhost 10.20.10.1:6789;10.20.10.2:6789;[fd00::3]:3300',
  '\tnamespace tenant1',
  '\tpool ext-pool',
  '\tusername pve',
  '',
  'cephfs: cephfs',
  '\tpath /mnt/pve/cephfs',
  '\tcontent backup,vztmpl,iso',
  '\tfs-name cephfs',
  '',
  'iscsi: san',
  '\tportal 10.20.0.5',
  '\ttarget iqn.2003-01.org.linux-iscsi.san.x8664:sn.5f4b1c2d9e0a',
  '\tcontent none',
  '',
  'lvm: san-lvm',
  '\tvgname vg-san',
  '\tbase san:0.0.0.scsi-36001405a1b2c3d4e5f60718293a4b5c6',
  '\tcontent images',
  '\tsaferemove 0',
  '\tshared 1',
  '',
  'iscsidirect: san-direct',
  '\tportal 10.20.0.5:3260',
  '\ttarget iqn.2003-01.org.linux-iscsi.san.x8664:sn.5f4b1c2d9e0a',
  '\tcontent images',
  '',
  'glusterfs: gluster',
  '\tpath /mnt/pve/gluster',
  '\tvolume gv0',
  '\tcontent images,iso,backup',
  '\tprune-backups keep-all=1',
  '\tserver 10.30.0.1',
  '\tserver2 10.30.0.2',
  '\ttransport tcp',
  '',
  'btrfs: fast',
  '\tpath /mnt/fast',
  '\tcontent images,rootdir',
  '\tis_mountpoint /mnt/fast',
  '\tnocow 1',
  '',
  'zfs: zfs-san',
  '\tblocksize 8k',
  '\tiscsiprovider LIO',
  '\tpool tank/pve',
  '\tportal 10.20.0.6',
  '\ttarget iqn.2003-01.org.linux-iscsi.zfs.x8664:sn.0c1d2e3f4a5b',
  '\tcontent images',
  '\tlio_tpg tpg1',
  '\tsparse 1',
  '',
  'pbs: pbs-main',
  '\tdatastore store1',
  '\tserver 10.10.20.30',
  '\tcontent backup',
  '\tfingerprint 9a:3c:5e:70:12:44:de:ad:be:ef:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:01:23:45:67:89:ab',
  '\tnamespace cluster-a',
  '\tport 8007',
  '\tprune-backups keep-daily=7,keep-last=3',
  '\tusername backup@pbs',
  '',
  'esxi: esxi-host',
  '\tserver 10.10.30.40',
  '\tusername root',
  '\tcontent import',
  '\tskip-cert-verification 1',
  '',
  '',
].join('\n');

const VE6 = 'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\tmaxfiles 3\n\nnfs: old-backup\n\texport /srv/backup\n\tpath /mnt/pve/old-backup\n\tserver 10.0.0.9\n\tcontent backup\n\tmaxfiles 7\n\toptions vers=3\n\n';

function headers(text: string): string[] {
  return text.split('\n').filter((l) => /^[a-z]+: /.test(l));
}

function sample(name: string, text: string, written = text): StorageCfgSample {
  return { name, text, sections: headers(text), written };
}

/** Every sample: the installer's four defaults, a cluster with every Proxmox type, a Proxmox VE 6 file. */
export const PROXMOX_STORAGE_CFG_SAMPLES: readonly StorageCfgSample[] = Object.freeze([
  sample('installer default, ext4/xfs on LVM (local + local-lvm)', INSTALLER_LVM_THIN, `${INSTALLER_LVM_THIN}\n`),
  sample('installer default, ZFS (local + local-zfs)', INSTALLER_ZFS, `${INSTALLER_ZFS}\n`),
  sample('installer default, BTRFS (local disabled + local-btrfs)', INSTALLER_BTRFS, `${INSTALLER_BTRFS}\n`),
  sample('installer default, no LVM (local only)', INSTALLER_LOCAL, `${INSTALLER_LOCAL}\n`),
  sample('a cluster with every Proxmox storage type', CLUSTER),
  sample('Proxmox VE 6 (maxfiles)', VE6),
]);

/** What {@link loadStorageCfgSamples} found for one sample. */
export interface LoadedStorageCfgSample {
  readonly sample: StorageCfgSample;
  /** `type: id` of every storage `kernel.storage.list()` returned. */
  readonly listed: readonly string[];
  /** The errors of `kernel.storage.get` for the sections that did not load (broken: an option its driver refuses...). */
  readonly broken: readonly string[];
}

/**
 * Writes each sample as the kernel's storage.cfg and reads it back through `kernel.storage`
 * (`list`, and `get` of every section; nothing is activated): for a plugin's tests that
 * Proxmox's files load with its driver's option schema. The kernel's storage.cfg is left
 * holding the last sample.
 */
export async function loadStorageCfgSamples(kernel: {
  readonly config: { write(path: string, content: string): Promise<unknown> };
  readonly storage: { list(): Promise<ReadonlyArray<{ id: string; type: string }>>; get(id: string): Promise<unknown> };
}): Promise<LoadedStorageCfgSample[]> {
  const out: LoadedStorageCfgSample[] = [];
  for (const sample of PROXMOX_STORAGE_CFG_SAMPLES) {
    await kernel.config.write('storage.cfg', sample.text);
    const defs = await kernel.storage.list();
    const broken: string[] = [];
    for (const header of sample.sections) {
      const id = header.slice(header.indexOf(': ') + 2);
      await kernel.storage.get(id).catch((error: Error) => broken.push(error.message));
    }
    out.push({ sample, listed: defs.map((d) => `${d.type}: ${d.id}`), broken });
  }
  return out;
}

/**
 * Asserts with `t` that every sample loads (see {@link loadStorageCfgSamples}): each sample's
 * sections are all listed in order, none is broken, and the ids `expected` (sections of the
 * plugin's types under test) are among them.
 */
export async function checkStorageCfgSamplesLoad(
  t: Pick<ExecutionContext, 'deepEqual' | 'true'>,
  kernel: Parameters<typeof loadStorageCfgSamples>[0],
  expected: readonly string[],
): Promise<void> {
  const seen = new Set<string>();
  for (const loaded of await loadStorageCfgSamples(kernel)) {
    t.deepEqual(loaded.listed, loaded.sample.sections, loaded.sample.name);
    t.deepEqual(loaded.broken, [], loaded.sample.name);
    for (const line of loaded.listed) seen.add(line.slice(line.indexOf(': ') + 2));
  }
  for (const id of expected) t.true(seen.has(id), `storage '${id}' is listed`);
}
