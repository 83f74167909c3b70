import { join } from 'node:path';
import { InvalidArgumentError } from '@corral/core';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The files of one VM in its run directory (`<kernel runDir>/qemu/<vmid>/`). A kernel that
 * restarts finds a running VM again through them (pid file + QMP socket).
 */
export interface QemuRunPaths {
  readonly dir: string;
  /** QMP for operations (one client at a time, under the guest lock). */
  readonly qmp: string;
  /** A second QMP monitor for status queries, so `status` never waits behind an operation. */
  readonly qmpStatus: string;
  /** Guest agent chardev (virtio-serial port `org.qemu.guest_agent.0`). */
  readonly qga: string;
  /** VNC server (RFB) on a unix socket. */
  readonly vnc: string;
  /** QEMU's pid file (`-pidfile`). */
  readonly pidFile: string;
  /** What the driver recorded at start (see `QemuRuntimeRecord`). */
  readonly runtimeFile: string;
  /** OVMF variables copy used when no `efidisk0` is configured. */
  readonly efivars: string;
  /** Serial port N on a unix socket (`serialN: socket`). */
  serial(index: number): string;
  /** QEMU's log (`-D`; a daemonized QEMU's stderr goes there too). Kept after stop, truncated at start. */
  readonly qemuLog: string;
  /** What the guest printed on serial port N (the chardev's `logfile`). Kept after stop, truncated at start. */
  serialLog(index: number): string;
}

/**
 * The run paths under `runDir`.
 *
 * @throws InvalidArgumentError when a socket path would be longer than a unix socket allows.
 */
export function qemuRunPaths(runDir: string): QemuRunPaths {
  const paths: QemuRunPaths = {
    dir: runDir,
    qmp: join(runDir, 'qmp.sock'),
    qmpStatus: join(runDir, 'qmp-status.sock'),
    qga: join(runDir, 'qga.sock'),
    vnc: join(runDir, 'vnc.sock'),
    pidFile: join(runDir, 'qemu.pid'),
    runtimeFile: join(runDir, 'runtime.json'),
    efivars: join(runDir, 'efivars.fd'),
    serial: (index: number) => join(runDir, `serial${index}.sock`),
    qemuLog: join(runDir, 'qemu.log'),
    serialLog: (index: number) => join(runDir, `serial${index}.log`),
  };
  const longest = paths.qmpStatus.length + 2;
  if (longest > MAX_SOCKET_PATH) {
    throw new InvalidArgumentError('runDir', `run directory '${runDir}' is too long for unix sockets (${longest} > ${MAX_SOCKET_PATH} bytes)`);
  }
  return paths;
}
