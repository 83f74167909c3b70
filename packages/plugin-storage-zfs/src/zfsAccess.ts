/**
 * How consumers reach zfspool volumes: a subvol is its mounted directory (mounted on demand,
 * as Proxmox's `activate_volume`), a zvol is its device link `/dev/zvol/<pool>/<name>`.
 *
 * @packageDocumentation
 */
import { access } from 'node:fs/promises';
import { NotSupportedError, UnavailableError, type VolumeAccess, type VolumeConsumer } from '@corral/core';
import { ZfsCommands } from './ZfsCommands.js';
import { zfsFailure } from './zfsErrors.js';
import { retryWhileBusy } from './zfsBusyRetry.js';
import { parseZfsVolname } from './zfsVolname.js';
import type { ZfsSession } from './ZfsSession.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Waits (up to the driver's `zvolDeviceWaitMs`) for a zvol's device link, as Proxmox's
 * `zfs_wait_for_zvol_link`. Returns the path.
 *
 * @throws UnavailableError when it does not appear.
 */
export async function waitForZvol(s: ZfsSession, name: string): Promise<string> {
  const path = s.zvolPath(name);
  const deadline = performance.now() + s.config.zvolDeviceWaitMs;
  for (;;) {
    if (await exists(path)) return path;
    if (performance.now() >= deadline) {
      throw new UnavailableError(`storage:${s.sid}`, `no zvol device link '${path}' appeared within ${s.config.zvolDeviceWaitMs} ms`);
    }
    s.ctx.signal?.throwIfAborted();
    await sleep(100);
  }
}

/**
 * Mounts a filesystem dataset when it is not mounted and returns its mount point. A mount that
 * ZFS calls busy (zfs-fuse, right after an unmount) is retried ({@link retryWhileBusy}).
 *
 * @throws NotFoundError (kind `volume`, naming `volid`), UnavailableError (mountpoint
 *   `legacy`/`none`, mount failed).
 */
export async function ensureMounted(s: ZfsSession, name: string, volid: string): Promise<string> {
  const ds = s.dataset(name);
  let props: Map<string, string> | undefined;
  try {
    props = (await s.get(['type', 'mounted', 'mountpoint'], [ds])).get(ds);
  } catch (err) {
    s.fail(err, { volid });
  }
  const mountpoint = props?.get('mountpoint');
  if (!mountpoint || !mountpoint.startsWith('/')) {
    throw new UnavailableError(`storage:${s.sid}`, `dataset '${ds}' has mountpoint '${mountpoint ?? '-'}': a subvol needs a mountable filesystem`);
  }
  if (props?.get('mounted') !== 'yes') {
    try {
      await retryWhileBusy(s, ds, () => s.run(ZfsCommands.mount(ds)), { unmountBetweenTries: false });
    } catch (err) {
      if (!/already mounted/.test((err as { stderr?: string }).stderr ?? '')) s.fail(err, { volid });
    }
  }
  return mountpoint;
}

/**
 * Makes a volume reachable: a subvol resolves to its mounted directory (for any consumer but
 * `qemu`); a zvol to its block device (waiting for the link). Snapshots are not attachable
 * (as Proxmox: "cannot attach only the snapshot of a zvol"; subvol snapshots are read through
 * exports).
 *
 * @throws NotFoundError (kind `volume`), NotSupportedError (snapshot access, subvol for qemu),
 *   UnavailableError.
 */
export async function resolveZfsVolume(
  s: ZfsSession,
  volname: string,
  options: { consumer: VolumeConsumer; snapshot?: string },
): Promise<VolumeAccess> {
  const v = parseZfsVolname(volname);
  const volid = s.volid(volname);
  if (options.snapshot !== undefined) {
    throw new NotSupportedError('resolve', `storage '${s.sid}': a snapshot of a zfs volume cannot be attached; export it or clone it (${volid}@${options.snapshot})`);
  }
  if (v.format === 'subvol') {
    if (options.consumer === 'qemu') throw new NotSupportedError('resolve', `'${volid}' is a subvol (container rootfs), not usable as a VM disk`);
    return { kind: 'directory', path: await ensureMounted(s, v.name, volid) };
  }
  try {
    const got = await s.get(['type'], [s.dataset(v.name)]);
    if (got.get(s.dataset(v.name))?.get('type') !== 'volume') {
      throw new UnavailableError(`storage:${s.sid}`, `'${s.dataset(v.name)}' is not a zvol`);
    }
  } catch (err) {
    if (zfsFailure(err)) s.fail(err, { volid });
    throw err;
  }
  return { kind: 'block', path: await waitForZvol(s, v.name), format: 'raw' };
}
