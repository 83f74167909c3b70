/**
 * Throw-away LVM volume groups for tests, on a loop device over a sparse file, seen only
 * through a private `LVM_SYSTEM_DIR`: its lvm.conf disables activation (this kernel has no
 * device-mapper), filters every device but the test's loop device, keeps locks in the test's
 * directory and writes no metadata backups. The real lvm2 tools then run on metadata:
 * pvcreate, vgcreate, plain lvcreate/lvextend/lvrename/lvremove, lvchange of flags, every
 * report. A thin pool (which lvm2 refuses to create without device-mapper) and thin LVs are
 * written into the VG metadata with vgcfgbackup / edit / vgcfgrestore, so that `lvs` reports
 * them as on a real host.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool, runToolOk } from '@corral/core/testing';

/** Programs the harness needs (Debian package lvm2, plus losetup from mount). */
export const LVM_TEST_PROGRAMS: readonly string[] = ['lvm', 'pvcreate', 'vgcreate', 'lvs', 'vgs', 'vgcfgbackup', 'vgcfgrestore', 'losetup'];

/** A thin LV written into the metadata (see {@link LvmTestVg.addThinLvs}). */
export interface ThinLvSpec {
  readonly name: string;
  readonly sizeBytes: number;
  /** Origin LV of a thin snapshot or clone. */
  readonly origin?: string;
  /** Read-only (`-pr`: snapshots, bases). */
  readonly readOnly?: boolean;
  /** Skipped by activation (`-ky`: snapshots, bases). */
  readonly activationSkip?: boolean;
  /** Creation time, seconds since the epoch. Default: now. */
  readonly ctime?: number;
}

/** A test VG. */
export interface LvmTestVg {
  /** VG name. */
  readonly vg: string;
  /** The loop device of its one PV. */
  readonly device: string;
  /** The private directory (backing file, lvm.conf, locks). */
  readonly dir: string;
  /** Environment for every LVM command of the test (`LVM_SYSTEM_DIR`). */
  readonly env: Readonly<Record<string, string>>;
  /** Runs an LVM command with the test's environment; rejects when it exits non-zero. */
  lvm(argv: readonly string[]): Promise<string>;
  /** Writes a thin pool `name` of `sizeBytes` (whole 4 MiB extents) into the metadata. */
  addThinPool(name: string, sizeBytes: number): Promise<void>;
  /** Writes thin LVs of pool `pool` into the metadata (as lvcreate -V / -s would have). */
  addThinLvs(pool: string, lvs: readonly ThinLvSpec[]): Promise<void>;
  /** Detaches the loop device and removes the directory. Idempotent. */
  destroy(): Promise<void>;
}

const EXTENT = 4 * 1024 * 1024;

function lvmConf(dir: string, device: string): string {
  return [
    `global { activation = 0 locking_dir = "${join(dir, 'lock')}" use_lvmpolld = 0 event_activation = 0 }`,
    `devices { filter = [ "a|^${device}$|", "r|.*|" ] global_filter = [ "a|^${device}$|", "r|.*|" ] use_devicesfile = 0 obtain_device_list_from_udev = 0 scan = [ "/dev" ] }`,
    'activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }',
    'backup { backup = 0 archive = 0 }',
    '',
  ].join('\n');
}

function lvUuid(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(32);
  const s = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  return [6, 4, 4, 4, 4, 4, 6].reduce<{ parts: string[]; at: number }>((acc, n) => ({ parts: [...acc.parts, s.slice(acc.at, acc.at + n)], at: acc.at + n }), { parts: [], at: 0 }).parts.join('-');
}

function lvBlock(name: string, status: string[], flags: string[], ctime: number, segment: string[]): string {
  const q = (xs: string[]) => `[${xs.map((x) => `"${x}"`).join(', ')}]`;
  return [
    `\t\t${name} {`,
    `\t\t\tid = "${lvUuid()}"`,
    `\t\t\tstatus = ${q(status)}`,
    `\t\t\tflags = ${q(flags)}`,
    `\t\t\tcreation_time = ${ctime}`,
    '\t\t\tcreation_host = "corral-test"',
    '\t\t\tsegment_count = 1',
    '',
    '\t\t\tsegment1 {',
    ...segment.map((l) => `\t\t\t\t${l}`),
    '\t\t\t}',
    '\t\t}',
    '',
  ].join('\n');
}

/**
 * Creates a loop device over a sparse file of `sizeBytes` in a fresh directory below `parent`,
 * and a VG on it (`pvcreate --metadatasize 250k` as Proxmox, `vgcreate`). `name` defaults to
 * a unique `corraltest<hex>`.
 */
export async function createLvmTestVg(options: { parent: string; sizeBytes?: number; name?: string }): Promise<LvmTestVg> {
  const dir = await mkdtemp(join(options.parent, 'lvm-'));
  const image = join(dir, 'pv.img');
  await writeFile(image, '');
  await runToolOk(['truncate', '-s', String(options.sizeBytes ?? 256 * 1024 * 1024), image]);
  const device = (await runToolOk(['losetup', '--find', '--show', image])).stdout.trim();
  const vg = options.name ?? `corraltest${randomBytes(4).toString('hex')}`;
  const env = { LVM_SYSTEM_DIR: join(dir, 'etc'), LVM_SUPPRESS_FD_WARNINGS: '1' };
  await mkdir(join(dir, 'etc'));
  await mkdir(join(dir, 'lock'));
  await writeFile(join(dir, 'etc', 'lvm.conf'), lvmConf(dir, device));
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await runTool(['losetup', '-d', device]);
    await rm(dir, { recursive: true, force: true });
  };
  const lvm = async (argv: readonly string[]) => (await runToolOk(argv, { env })).stdout;
  let nextExtent = 0;
  let deviceId = 1;
  /** Rewrites the metadata with `blocks` appended to logical_volumes (created when missing). */
  const editMetadata = async (blocks: string) => {
    const file = join(dir, `vg-${randomBytes(3).toString('hex')}.cfg`);
    await lvm(['vgcfgbackup', '-f', file, vg]);
    let text = await readFile(file, 'utf8');
    if (text.includes('\tlogical_volumes {\n')) {
      text = text.replace('\tlogical_volumes {\n', `\tlogical_volumes {\n\n${blocks}`);
    } else {
      const end = text.lastIndexOf('\n}');
      text = `${text.slice(0, end)}\n\tlogical_volumes {\n\n${blocks}\t}\n${text.slice(end)}`;
    }
    await writeFile(file, text);
    const r = await runTool(['vgcfgrestore', '--force', '-f', file, vg], { env });
    if (r.exitCode !== 0) throw new Error(`vgcfgrestore failed: ${r.stderr}`);
    await rm(file, { force: true });
  };
  try {
    await lvm(['pvcreate', '--metadatasize', '250k', device]);
    await lvm(['vgcreate', vg, device]);
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    vg,
    device,
    dir,
    env,
    lvm,
    destroy,
    async addThinPool(name, sizeBytes) {
      const extents = Math.ceil(sizeBytes / EXTENT);
      const now = Math.floor(Date.now() / 1000);
      const striped = (start: number, count: number) => ['start_extent = 0', `extent_count = ${count}`, 'type = "striped"', 'stripe_count = 1', 'stripes = [', `\t"pv0", ${start}`, ']'];
      const data = nextExtent;
      const meta = data + extents;
      const spare = meta + 1;
      nextExtent = spare + 1;
      await editMetadata(
        lvBlock(name, ['READ', 'WRITE', 'VISIBLE'], [], now, [
          'start_extent = 0',
          `extent_count = ${extents}`,
          'type = "thin-pool"',
          `metadata = "${name}_tmeta"`,
          `pool = "${name}_tdata"`,
          'transaction_id = 0',
          'chunk_size = 128',
          'discards = "passdown"',
          'zero_new_blocks = 1',
        ]) +
          lvBlock('lvol0_pmspare', ['READ', 'WRITE'], [], now, striped(spare, 1)) +
          lvBlock(`${name}_tdata`, ['READ', 'WRITE'], [], now, striped(data, extents)) +
          lvBlock(`${name}_tmeta`, ['READ', 'WRITE'], [], now, striped(meta, 1)),
      );
    },
    async addThinLvs(pool, lvs) {
      const now = Math.floor(Date.now() / 1000);
      let blocks = '';
      for (const lv of lvs) {
        const status = ['READ', ...(lv.readOnly ? [] : ['WRITE']), 'VISIBLE'];
        blocks += lvBlock(lv.name, status, lv.activationSkip ? ['ACTIVATION_SKIP'] : [], lv.ctime ?? now, [
          'start_extent = 0',
          `extent_count = ${Math.ceil(lv.sizeBytes / EXTENT)}`,
          'type = "thin"',
          `thin_pool = "${pool}"`,
          'transaction_id = 0',
          `device_id = ${deviceId++}`,
          ...(lv.origin ? [`origin = "${lv.origin}"`] : []),
        ]);
      }
      await editMetadata(blocks);
    },
  };
}
