/**
 * What must hold after any guest operation, failed or not: the volumes on storage and the
 * volumes the configs name are the same set (no orphan, no dangling reference), and no config
 * keeps a persistent lock or an unfinished snapshot section.
 *
 * @packageDocumentation
 */
import { extensionPoints, isUnusedKey, parseGuestConfig, type BuiltinGuestType, type HypervisorDriver, type Kernel } from '@corral/core';

/** What {@link checkStorageInvariants} found. */
export interface StorageState {
  /** Volumes on storage `local` (images and rootdir) that no config references. */
  readonly orphans: readonly string[];
  /** Volumes some config references that do not exist. */
  readonly dangling: readonly string[];
  /**
   * `vmid: lock` of configs that still carry a persistent lock, `vmid [name]: snapstate` of
   * unfinished snapshots, `volid@name` of volume snapshots no config has a section for, and
   * `volid lacks @name` of a finished snapshot section whose volume has no such snapshot.
   */
  readonly leftovers: readonly string[];
}

/** Reads every guest config of the node and every guest volume of storage `local`. */
export async function checkStorageInvariants(kernel: Kernel, node = 'testnode'): Promise<StorageState> {
  const drivers = kernel.extensions(extensionPoints.hypervisors);
  const referenced = new Set<string>();
  const leftovers: string[] = [];
  /** Snapshot names each volume may have: those of the configs that name it. */
  const allowedSnapshots = new Map<string, Set<string>>();
  /** Snapshot names each volume must have: the finished sections that name it. */
  const requiredSnapshots = new Map<string, Set<string>>();
  for (const [type, dir] of [
    ['qemu', 'qemu-server'],
    ['lxc', 'lxc'],
  ] as Array<[BuiltinGuestType, string]>) {
    const driver = drivers.get(type) as HypervisorDriver;
    for (const file of await kernel.config.readAll(`nodes/${node}/${dir}`, '.conf')) {
      const vmid = file.path.slice(file.path.lastIndexOf('/') + 1, -5);
      const conf = parseGuestConfig(file.content, { type, source: file.path });
      const sections = [{ name: '', entries: conf.entries }, ...[...conf.snapshots].map(([name, s]) => ({ name, entries: s.entries }))];
      const snapshotNames = [...conf.snapshots.keys()];
      if (conf.pending) sections.push({ name: 'PENDING', entries: conf.pending.entries });
      for (const { name, entries } of sections) {
        const record = Object.fromEntries(entries.map((e) => [e.key, e.value]));
        for (const v of driver.volumes(record)) {
          if (v.isCdrom) continue;
          referenced.add(v.volid);
          if (name !== '' && name !== 'PENDING' && !record.snapstate && v.key !== 'vmstate' && !isUnusedKey(v.key)) {
            const required = requiredSnapshots.get(v.volid) ?? new Set<string>();
            required.add(name);
            requiredSnapshots.set(v.volid, required);
          }
          const allowed = allowedSnapshots.get(v.volid) ?? new Set<string>();
          for (const n of snapshotNames) allowed.add(n);
          allowedSnapshots.set(v.volid, allowed);
        }
        if (name === '' && record.lock) leftovers.push(`${vmid}: lock ${record.lock}`);
        if (record.snapstate) leftovers.push(`${vmid} [${name}]: snapstate ${record.snapstate}`);
      }
    }
  }
  const onStorage = new Set((await kernel.storage.listVolumes('local')).filter((v) => v.content === 'images' || v.content === 'rootdir').map((v) => v.volid));
  for (const volid of onStorage) {
    const snapshots = await kernel.storage.snapshotList(volid).catch(() => []);
    for (const snap of snapshots) if (!allowedSnapshots.get(volid)?.has(snap.name)) leftovers.push(`${volid}@${snap.name}`);
    for (const name of requiredSnapshots.get(volid) ?? []) if (!snapshots.some((s) => s.name === name)) leftovers.push(`${volid} lacks @${name}`);
  }
  return {
    orphans: [...onStorage].filter((v) => !referenced.has(v)).sort(),
    dangling: [...referenced].filter((v) => v.startsWith('local:') && !onStorage.has(v)).sort(),
    leftovers,
  };
}
