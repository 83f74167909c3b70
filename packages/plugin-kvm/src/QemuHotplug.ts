/**
 * Live config changes on a running VM (qemu-server's `vmconfig_hotplug_pending`).
 *
 * Applied at once: descriptive keys (`name`, `description`, `tags`, `onboot`...), `cpulimit`
 * and `cpuunits` (resource control), `balloon` (target), virtio/SCSI disks added or removed
 * (`blockdev-add` + `device_add`; `device_del`, wait for DEVICE_DELETED of that device, then
 * `blockdev-del`) when `hotplug` has `disk`, NICs added or removed (tap + `netdev_add` +
 * `device_add`, the tap plugged through core's NIC plugging) when it has `network`; a NIC's
 * bridge, VLAN tag, trunks, firewall flag and rate (re-plugged through `ctx.network.update`, as
 * qemu-server does) and link state (QMP `set_link`); and the medium of a CD-ROM. Everything
 * else (memory, CPUs, machine, models, MACs...) waits for the next start (`[PENDING]`).
 *
 * @packageDocumentation
 */
import { isDeepStrictEqual } from 'node:util';
import { isCorralError, isUnusedKey, type ApplyChangesResult, type GuestConfigEntries, type GuestContext, type GuestNic } from '@corral/core';
import { blockNodeNames, HOST_CDROM_ACCESS, qemuBlockGraph } from './cmdline/QemuBlockdev.js';
import { driveDevice, netDevice, netdevOptions, scsiControllerDevice, scsiControllerId } from './cmdline/QemuDevices.js';
import type { QemuHostFeatures } from './cmdline/QemuCommandLine.js';
import { machineAtLeast, machineVersion, runMachineType, type MachineVersion } from './cmdline/machineVersion.js';
import { pciAddress } from './cmdline/pciLayout.js';
import type { QemuConfig, QemuDriveSpec, QemuNetSpec } from './config/QemuConfig.js';
import { isDriveKey, QEMU_METADATA_KEYS } from './config/parseQemuConfig.js';
import type { QmpClient } from './qmp/QmpClient.js';
import type { ResourceControl } from './resources/ResourceControl.js';
import { readRuntimeRecord, writeRuntimeRecord } from './runtime/QemuRuntimeRecord.js';
import type { QemuRunPaths } from './runtime/QemuRunPaths.js';
import { qemuGuestNic } from './runtime/qemuGuestNic.js';
import { withQmp } from './runtime/withQmp.js';

/** How long the guest may take to release an unplugged device, ms. */
const UNPLUG_TIMEOUT_MS = 30_000;
/** Keys that change nothing in the running VM. */
const FAST_KEYS = new Set([...QEMU_METADATA_KEYS, 'name']);

/** What {@link applyHotplug} needs. */
export interface HotplugEnv {
  readonly ctx: GuestContext;
  readonly paths: QemuRunPaths;
  readonly host: QemuHostFeatures;
  readonly resources: ResourceControl;
  /** Memory limit for a config (guest RAM + QEMU overhead), bytes. */
  readonly memoryLimit: (config: QemuConfig) => number;
}

/**
 * Applies `changed` keys (from `before` to `after`, both full configs) to the running VM.
 * Keys it could not apply live are returned as `pending`. A failure in the middle throws
 * (ProtocolError from QEMU, CommandFailedError from `ip`); the facade then keeps the old config.
 */
export async function applyHotplug(
  env: HotplugEnv,
  before: { entries: GuestConfigEntries; config: QemuConfig },
  after: { entries: GuestConfigEntries; config: QemuConfig },
  changed: readonly string[],
): Promise<ApplyChangesResult> {
  const applied: string[] = [];
  const pending: string[] = [];
  const { ctx, paths } = env;
  const b = before.config;
  const a = after.config;
  await withQmp(paths.qmp, async (qmp) => {
    for (const key of [...new Set(changed)]) {
      if (before.entries[key] === after.entries[key]) {
        applied.push(key);
        continue;
      }
      let done = false;
      if (FAST_KEYS.has(key) || isUnusedKey(key)) {
        done = true;
      } else if (key === 'cpulimit' || key === 'cpuunits') {
        const record = await readRuntimeRecord(paths.runtimeFile);
        if (record?.placement) {
          await env.resources.update(record.placement, { cpuLimit: a.cpulimit, cpuUnits: a.cpuunits, memoryBytes: env.memoryLimit(b) });
          done = true;
        }
      } else if (key === 'balloon') {
        if (b.balloonMiB !== 0 && a.balloonMiB !== 0 && a.balloonMiB !== undefined) {
          await qmp.execute('balloon', { value: a.balloonMiB * 1024 * 1024 });
          done = true;
        }
      } else if (isDriveKey(key)) {
        done = await applyDrive(env, qmp, b, a, key);
      } else if (/^net\d+$/.test(key)) {
        done = await applyNet(env, qmp, b, a, key);
      }
      (done ? applied : pending).push(key);
      if (done) ctx.log.info(`${key}: applied to the running VM`);
    }
  });
  return { applied, pending };
}

async function applyDrive(env: HotplugEnv, qmp: QmpClient, b: QemuConfig, a: QemuConfig, key: string): Promise<boolean> {
  const old = b.drives.find((d) => d.key === key);
  const next = a.drives.find((d) => d.key === key);
  // A CD-ROM keeps its device; only the medium changes.
  if (old?.cdrom && next?.cdrom) {
    if (isDeepStrictEqual(old.source, next.source)) return sameExceptSize(old, next);
    await changeMedium(env, qmp, old, next);
    return true;
  }
  if (!a.hotplug.has('disk')) return false;
  if (old && !next) {
    if (old.cdrom || !['virtio', 'scsi'].includes(old.interface)) return false;
    await unplugDrive(env, qmp, old);
    return true;
  }
  if (!old && next) {
    if (next.cdrom || !['virtio', 'scsi'].includes(next.interface) || next.source.kind !== 'volume') return false;
    await plugDrive(env, qmp, a, next);
    return true;
  }
  if (old && next) return sameExceptSize(old, next);
  return false;
}

/** True when two drives differ only in bookkeeping fields (`size`, `backup`, `replicate`). */
function sameExceptSize(x: QemuDriveSpec, y: QemuDriveSpec): boolean {
  const strip = (d: QemuDriveSpec) => {
    const { size: _s, backup: _b, replicate: _r, ...rest } = d.drive;
    return { ...d, drive: rest };
  };
  return isDeepStrictEqual(strip(x), strip(y));
}

/** The machine version of a running VM: pinned in its config (or for Windows, at start), else that of the QEMU running it. */
async function runningMachineVersion(qmp: QmpClient, config: QemuConfig): Promise<MachineVersion> {
  const v = await qmp.execute('query-version');
  const host = { qemuVersion: [v.qemu.major, v.qemu.minor] as const };
  return machineVersion(runMachineType(config, host), host, config.machine.pveRevision);
}

async function plugDrive(env: HotplugEnv, qmp: QmpClient, config: QemuConfig, spec: QemuDriveSpec): Promise<void> {
  const { ctx } = env;
  const volid = (spec.source as { volid: string }).volid;
  const access = await ctx.storage.resolve(volid, { consumer: 'qemu' });
  const graph = qemuBlockGraph(spec.key, spec.drive, access);
  let added = false;
  try {
    if (graph.throttleGroup) await qmp.execute('object-add', graph.throttleGroup);
    await qmp.execute('blockdev-add', graph.blockdev);
    added = true;
    // The slot qemu-server gives the device at start, so it is where it was after a restart.
    const machine = config.machine.type;
    if (spec.interface === 'scsi') {
      const controller = scsiControllerId(config.scsihw, spec.index);
      if (!(await peripheralIds(qmp)).has(controller)) {
        await qmp.execute('device_add', { ...scsiControllerDevice(config.scsihw, controller), ...pciAddress(controller, machine) });
      }
    }
    const blockdevMachine = machineAtLeast(await runningMachineVersion(qmp, config), 10, 0);
    await qmp.execute('device_add', { ...driveDevice(spec, { node: graph.top, extra: graph.deviceProps, scsihw: config.scsihw, machine, blockdevMachine }), ...pciAddress(spec.key, machine) });
    ctx.log.info(`${spec.key}: hot-plugged ${volid}`);
  } catch (err) {
    if (added) await qmp.execute('blockdev-del', { 'node-name': graph.top }).catch(() => undefined);
    if (graph.throttleGroup) await qmp.execute('object-del', { id: graph.throttleGroup.id }).catch(() => undefined);
    throw err;
  }
}

async function unplugDrive(env: HotplugEnv, qmp: QmpClient, spec: QemuDriveSpec): Promise<void> {
  await qmp.deviceDel(spec.key, { timeoutMs: UNPLUG_TIMEOUT_MS });
  await removeNodes(qmp, spec.key);
  if (spec.source.kind === 'volume') await env.ctx.storage.deactivateVolume(spec.source.volid).catch(() => undefined);
  env.ctx.log.info(`${spec.key}: unplugged`);
}

/** Removes the block graph (its top node owns the rest) and the throttle group of drive `key`. */
async function removeNodes(qmp: QmpClient, key: string): Promise<void> {
  const { topNode, throttleGroup } = blockNodeNames(key);
  const names = new Set((await qmp.execute<Array<{ 'node-name': string }>>('query-named-block-nodes', { flat: true })).map((n) => n['node-name']));
  if (names.has(topNode)) await qmp.execute('blockdev-del', { 'node-name': topNode });
  await qmp.execute('object-del', { id: throttleGroup }).catch(() => undefined);
}

async function changeMedium(env: HotplugEnv, qmp: QmpClient, old: QemuDriveSpec, next: QemuDriveSpec): Promise<void> {
  await qmp.execute('blockdev-open-tray', { id: old.key, force: true });
  await qmp.execute('blockdev-remove-medium', { id: old.key });
  await removeNodes(qmp, old.key);
  if (old.source.kind === 'volume') await env.ctx.storage.deactivateVolume(old.source.volid).catch(() => undefined);
  if (next.source.kind !== 'none') {
    const access =
      next.source.kind === 'host-cdrom'
        ? HOST_CDROM_ACCESS
        : next.source.kind === 'volume'
          ? await env.ctx.storage.resolve(next.source.volid, { consumer: 'qemu' })
          : { kind: 'file' as const, path: next.source.path, format: 'raw' as const };
    const graph = qemuBlockGraph(next.key, next.drive, access);
    if (graph.throttleGroup) await qmp.execute('object-add', graph.throttleGroup);
    await qmp.execute('blockdev-add', graph.blockdev);
    await qmp.execute('blockdev-insert-medium', { id: next.key, 'node-name': graph.top });
  }
  await qmp.execute('blockdev-close-tray', { id: next.key });
  env.ctx.log.info(`${next.key}: medium changed`);
}

async function applyNet(env: HotplugEnv, qmp: QmpClient, b: QemuConfig, a: QemuConfig, key: string): Promise<boolean> {
  const old = b.nets.find((n) => n.key === key);
  const next = a.nets.find((n) => n.key === key);
  const { ctx } = env;
  if (old && next) {
    const o = old.net;
    const n = next.net;
    const fixed = ['model', 'queues', 'mtu'] as const;
    if (old.mac !== next.mac || fixed.some((f) => o[f] !== n[f])) return false;
    if ((o.bridge === undefined) !== (n.bridge === undefined)) return false;
    const before = qemuGuestNic(b.vmid, old);
    const after = qemuGuestNic(a.vmid, next);
    if (before && after) {
      if (!(await nicFits(env, after))) return false;
      await ctx.network.update(before, after);
      await updateNics(env, (nics) => (nics[key] = after));
    }
    if (Boolean(o.link_down) !== Boolean(n.link_down)) await qmp.execute('set_link', { name: key, up: !n.link_down });
    return true;
  }
  if (!a.hotplug.has('network')) return false;
  if (old && !next) {
    await qmp.deviceDel(key, { timeoutMs: UNPLUG_TIMEOUT_MS });
    await qmp.execute('netdev_del', { id: key });
    const nic = qemuGuestNic(b.vmid, old);
    if (nic) await ctx.network.unplug(nic);
    await updateNics(env, (nics, taps) => {
      delete nics[key];
      delete taps[key];
    });
    ctx.log.info(`${key}: unplugged`);
    return true;
  }
  if (!old && next) {
    const nic = qemuGuestNic(a.vmid, next);
    if (nic && !(await nicFits(env, nic))) return false;
    await plugNet(env, qmp, a, next);
    return true;
  }
  return false;
}

/**
 * True when the NIC can be plugged on this host (core's check); a missing bridge or VLANs the
 * bridge cannot carry leave the change pending, with a warning naming the key.
 */
async function nicFits(env: HotplugEnv, nic: GuestNic): Promise<boolean> {
  try {
    await env.ctx.network.check(nic);
    return true;
  } catch (err) {
    if (!isCorralError(err, 'CORRAL_ERR_NOT_FOUND') && !isCorralError(err, 'CORRAL_ERR_NOT_SUPPORTED')) throw err;
    env.ctx.log.warn(`${(err as Error).message}: left pending`);
    return false;
  }
}

async function plugNet(env: HotplugEnv, qmp: QmpClient, config: QemuConfig, spec: QemuNetSpec): Promise<void> {
  const { ctx } = env;
  const nic = qemuGuestNic(config.vmid, spec);
  await qmp.execute('netdev_add', netdevOptions(spec, { vmid: config.vmid, vhostNet: env.host.vhostNet }));
  let plugged = false;
  try {
    let bridgeMtu: number | undefined;
    if (nic) {
      bridgeMtu = (await ctx.network.check(nic)).bridgeMtu;
      await ctx.network.plug(nic);
      plugged = true;
      await updateNics(env, (nics, taps) => {
        nics[spec.key] = nic;
        taps[spec.key] = nic.ifname;
      });
    }
    const device = netDevice(spec, { vcpus: config.vcpus, machineVersion: await runningMachineVersion(qmp, config), bridgeMtu });
    await qmp.execute('device_add', { ...device, ...pciAddress(spec.key, config.machine.type) });
    if (spec.net.link_down) await qmp.execute('set_link', { name: spec.key, up: false });
  } catch (err) {
    await qmp.execute('netdev_del', { id: spec.key }).catch(() => undefined);
    if (plugged && nic) await ctx.network.unplug(nic).catch((e: Error) => ctx.log.warn(`${spec.key}: undoing the plug: ${e.message}`));
    throw err;
  }
  ctx.log.info(`${spec.key}: hot-plugged`);
}

/** Changes the NICs (and their taps) the runtime record names, so a stop unplugs what runs now. */
async function updateNics(env: HotplugEnv, change: (nics: Record<string, GuestNic>, taps: Record<string, string>) => void): Promise<void> {
  const record = await readRuntimeRecord(env.paths.runtimeFile);
  if (!record) return;
  const taps = { ...record.taps };
  const nics = { ...record.nics };
  change(nics, taps);
  await writeRuntimeRecord(env.paths.runtimeFile, { ...record, taps, nics });
}

/** Ids of the user-created devices of the VM (`/machine/peripheral`). */
async function peripheralIds(qmp: QmpClient): Promise<Set<string>> {
  const children = await qmp.execute<Array<{ name: string; type: string }>>('qom-list', { path: '/machine/peripheral' });
  return new Set(children.filter((c) => c.type.startsWith('child<')).map((c) => c.name));
}
