/**
 * Boots the test guest under QEMU (TCG, pc machine, direct kernel boot) for a test, with its
 * serial console, QMP and guest agent on unix sockets in a private temp dir. Everything is
 * stopped (QEMU killed by pid) and removed when the test ends.
 *
 * @packageDocumentation
 */
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { makeTempDir } from '@corral/core/testing';
import { QgaClient } from '../../src/qmp/QgaClient.js';
import { QmpClient } from '../../src/qmp/QmpClient.js';
import { connectWithRetry } from '../../src/qmp/connectWithRetry.js';
import { readBootReport, type GuestBootReport } from './guestMarkers.js';
import { QemuProcess } from './QemuProcess.js';
import { SerialConsole } from './SerialConsole.js';
import { ensureTestGuest, type TestGuestImage } from './testGuestImage.js';

/** A disk given to the guest at boot. */
export interface TestGuestDisk {
  /** QEMU id of the device and name of its block node (e.g. `virtio0`, `scsi0`). */
  id: string;
  /** Image file. */
  file: string;
  /** Default `qcow2`. */
  format?: 'qcow2' | 'raw';
  /** Default `virtio` (virtio-blk-pci); `scsi` puts it on one shared virtio-scsi-pci controller. */
  bus?: 'virtio' | 'scsi';
  /** Disk serial the guest reports. */
  serial?: string;
  /** SCSI target id (bus `scsi` only). Default: position among the SCSI disks. */
  scsiId?: number;
}

/** A NIC given to the guest at boot. It has no backend (no traffic can leave QEMU). */
export interface TestGuestNic {
  id: string;
  /** MAC, e.g. `52:54:00:12:34:56`. */
  mac: string;
}

/** Options of {@link spawnTestGuest}. */
export interface SpawnTestGuestOptions {
  disks?: TestGuestDisk[];
  nics?: TestGuestNic[];
  /** Default 256. */
  memoryMiB?: number;
  /** Add the virtio-serial guest agent channel. Default true. */
  agent?: boolean;
  /** Start with `-S` (paused until `cont`). Default false. */
  paused?: boolean;
  /** Appended to the kernel command line (e.g. `corral.debug=1`). */
  extraCmdline?: string;
  /** Extra QEMU arguments, appended last. */
  extraArgs?: string[];
}

/** A running test guest. */
export interface TestGuest {
  image: TestGuestImage;
  qemu: QemuProcess;
  /** Connected QMP client. */
  qmp: QmpClient;
  /** Connected serial console. */
  serial: SerialConsole;
  /** Private directory holding the sockets. */
  dir: string;
  qmpPath: string;
  serialPath: string;
  /** Guest agent socket (absent when `agent: false`). */
  agentPath: string | undefined;
  /**
   * Waits for CORRAL-GUEST-READY and returns the boot report plus `bootMs`, the time from
   * QEMU's spawn to the READY line.
   */
  ready(options?: { timeoutMs?: number }): Promise<GuestBootReport & { bootMs: number }>;
  /** Connects a guest agent client (synchronized); closed at teardown. */
  agent(options?: { timeoutMs?: number }): Promise<QgaClient>;
}

/**
 * Builds the image if needed (see `ensureTestGuest`), spawns QEMU and connects the serial
 * console (QEMU waits for it: no output is lost) and QMP. Throws when QEMU fails to start,
 * with its output in the message.
 */
export async function spawnTestGuest(t: ExecutionContext, options: SpawnTestGuestOptions = {}): Promise<TestGuest> {
  const image = await ensureTestGuest();
  const dir = await makeTempDir(t, 'corral-guest-');
  const qmpPath = join(dir, 'qmp.sock');
  const serialPath = join(dir, 'serial.sock');
  const agentPath = options.agent === false ? undefined : join(dir, 'qga.sock');
  const cmdline = [image.cmdline, options.extraCmdline].filter(Boolean).join(' ');
  const args = [
    '-name', `corral-test-${process.pid}`,
    '-accel', 'tcg',
    '-machine', 'pc',
    '-m', String(options.memoryMiB ?? 256),
    '-smp', '1',
    '-nodefaults',
    '-display', 'none',
    '-no-reboot',
    '-kernel', image.kernel,
    '-initrd', image.initrd,
    '-append', cmdline,
    // wait=on: QEMU starts the guest only once the console is connected.
    '-chardev', `socket,id=serial0,path=${serialPath},server=on,wait=on`,
    '-serial', 'chardev:serial0',
    '-qmp', `unix:${qmpPath},server=on,wait=off`,
  ];
  if (options.paused) args.push('-S');
  if (agentPath) {
    args.push(
      '-device', 'virtio-serial-pci,id=vserial0',
      '-chardev', `socket,id=qga0,path=${agentPath},server=on,wait=off`,
      '-device', 'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
    );
  }
  const scsiDisks = (options.disks ?? []).filter((d) => d.bus === 'scsi');
  if (scsiDisks.length > 0) args.push('-device', 'virtio-scsi-pci,id=scsihw0');
  for (const disk of options.disks ?? []) {
    args.push(
      '-blockdev', `driver=file,filename=${disk.file},node-name=file-${disk.id}`,
      '-blockdev', `driver=${disk.format ?? 'qcow2'},file=file-${disk.id},node-name=${disk.id}`,
    );
    const serial = disk.serial ? `,serial=${disk.serial}` : '';
    if (disk.bus === 'scsi') {
      const scsiId = disk.scsiId ?? scsiDisks.indexOf(disk);
      args.push('-device', `scsi-hd,bus=scsihw0.0,scsi-id=${scsiId},lun=0,drive=${disk.id},id=${disk.id}${serial}`);
    } else {
      args.push('-device', `virtio-blk-pci,drive=${disk.id},id=${disk.id}${serial}`);
    }
  }
  for (const nic of options.nics ?? []) args.push('-device', `virtio-net-pci,id=${nic.id},mac=${nic.mac}`);
  args.push(...(options.extraArgs ?? []));

  const qemu = QemuProcess.spawn(t, args);
  let serial: SerialConsole;
  let qmp: QmpClient;
  try {
    serial = await SerialConsole.connect(serialPath, { timeoutMs: 10_000 });
    qmp = await connectWithRetry(qmpPath, { timeoutMs: 10_000, shouldRetry: () => qemu.running });
  } catch (error) {
    await qemu.kill();
    throw new Error(`QEMU did not come up: ${(error as Error).message}\nQEMU output:\n${qemu.output}`, { cause: error });
  }
  const agents: QgaClient[] = [];
  t.teardown(async () => {
    for (const a of agents) await a.close();
    await qmp.close();
    serial.close();
    await qemu.kill();
  });
  return {
    image,
    qemu,
    qmp,
    serial,
    dir,
    qmpPath,
    serialPath,
    agentPath,
    async ready(readyOptions = {}) {
      const report = await readBootReport(serial, { timeoutMs: readyOptions.timeoutMs ?? 60_000 });
      return { ...report, bootMs: report.readyAt - qemu.startedAt };
    },
    async agent(agentOptions = {}) {
      if (!agentPath) throw new Error('the guest was spawned with agent: false');
      const client = await QgaClient.connect(agentPath, { timeoutMs: agentOptions.timeoutMs ?? 30_000 });
      agents.push(client);
      return client;
    },
  };
}
