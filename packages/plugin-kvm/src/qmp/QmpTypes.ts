/**
 * Types of the QEMU Machine Protocol as QEMU 7.2 speaks it (qapi/*.json). Only what Corral
 * reads is typed; everything else stays `Record<string, unknown>`.
 *
 * @packageDocumentation
 */

/** QMP's time stamp of an event (host wall clock). */
export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/** The greeting QEMU sends when a client connects. */
export interface QmpGreeting {
  QMP: {
    version: QmpVersionInfo;
    /** Capabilities QEMU offers (e.g. `oob`); Corral enables none. */
    capabilities: string[];
  };
}

/** Answer of `query-version` (and part of the greeting). */
export interface QmpVersionInfo {
  qemu: { major: number; minor: number; micro: number };
  /** Distribution build string, e.g. `Debian 1:7.2+dfsg-7+deb12u18+b3`. */
  package: string;
}

/** Run states of `query-status` (QAPI RunState). */
export type QmpRunState =
  | 'debug'
  | 'finish-migrate'
  | 'inmigrate'
  | 'internal-error'
  | 'io-error'
  | 'paused'
  | 'postmigrate'
  | 'prelaunch'
  | 'restore-vm'
  | 'running'
  | 'save-vm'
  | 'shutdown'
  | 'suspended'
  | 'watchdog'
  | 'guest-panicked'
  | 'colo';

/** Answer of `query-status`. */
export interface QmpStatusInfo {
  running: boolean;
  singlestep?: boolean;
  status: QmpRunState;
}

/** States of a QEMU job (QAPI JobStatus). */
export type QmpJobStatus =
  | 'undefined'
  | 'created'
  | 'running'
  | 'paused'
  | 'ready'
  | 'standby'
  | 'waiting'
  | 'pending'
  | 'aborting'
  | 'concluded'
  | 'null';

/** One entry of `query-jobs`. Progress values are in job-specific units (bytes for block jobs). */
export interface QmpJobInfo {
  id: string;
  type: string;
  status: QmpJobStatus;
  'current-progress': number;
  'total-progress': number;
  /** Present when the job failed; the human-readable reason. */
  error?: string;
}

/** The `error` member of a failed command's reply. */
export interface QmpErrorBody {
  /** QAPI error class: `GenericError`, `CommandNotFound`, `DeviceNotFound`, `DeviceNotActive`, `KVMMissingCap`. */
  class: string;
  desc: string;
}

/** `data` of the `ProtocolError` a failed QMP or guest agent command rejects with. */
export interface QmpErrorData extends QmpErrorBody {
  /** The command that failed. */
  command: string;
}

/**
 * Payloads of the events Corral listens to, by event name. Optional members are optional in
 * QEMU's schema too.
 */
export interface QmpEventMap {
  SHUTDOWN: { guest: boolean; reason: string };
  POWERDOWN: Record<string, never>;
  RESET: { guest: boolean; reason: string };
  STOP: Record<string, never>;
  RESUME: Record<string, never>;
  SUSPEND: Record<string, never>;
  WAKEUP: Record<string, never>;
  GUEST_PANICKED: { action: string; info?: Record<string, unknown> };
  /**
   * A device finished unplugging. `device_del` of a virtio device gives two of these: one for
   * the virtio backend (no `device`, path `.../virtio-backend`) and one with `device` = the id.
   */
  DEVICE_DELETED: { device?: string; path: string };
  JOB_STATUS_CHANGE: { id: string; status: QmpJobStatus };
  BLOCK_JOB_COMPLETED: { type: string; device: string; len: number; offset: number; speed: number; error?: string };
  BLOCK_JOB_CANCELLED: { type: string; device: string; len: number; offset: number; speed: number };
  BLOCK_JOB_READY: { type: string; device: string; len: number; offset: number; speed: number };
  BLOCK_JOB_ERROR: { device: string; operation: string; action: string };
  BLOCK_IO_ERROR: { device: string; 'node-name'?: string; operation: string; action: string; nospace?: boolean; reason: string };
  MIGRATION: { status: string };
  MIGRATION_PASS: { pass: number };
  BALLOON_CHANGE: { actual: number };
  VSERPORT_CHANGE: { id: string; open: boolean };
  NIC_RX_FILTER_CHANGED: { name?: string; path: string };
  RTC_CHANGE: { offset: number; 'qom-path': string };
}

/** Payload type of event `K`: typed for {@link QmpEventMap} names, a plain record otherwise. */
export type QmpEventData<K extends string> = K extends keyof QmpEventMap ? QmpEventMap[K] : Record<string, unknown>;

/** One asynchronous event from QEMU. `data` is `{}` when QEMU sent none. */
export interface QmpEvent<K extends string = string> {
  event: K;
  data: QmpEventData<K>;
  timestamp: QmpTimestamp;
}
