/**
 * The typed events of the kernel, delivered through the {@link EventBus}.
 *
 * Plugins add their own events by augmenting {@link CorralEvents}:
 * ```ts
 * declare module '@corral/core' {
 *   interface CorralEvents { 'zfs:scrub': (e: { pool: string; done: boolean }) => void }
 * }
 * ```
 * Names are `<area>:<what>`; every listener gets one payload object.
 *
 * @packageDocumentation
 */
import type { GuestState, GuestType } from '../contracts/hypervisor.js';

/** Final state of a task: `ok` (exitstatus `OK` or `WARNINGS: n`) or `error`. */
export type TaskEndStatus = 'ok' | 'error';

/** Payload of `task:start`. Times in seconds since the epoch, as in the UPID. */
export interface TaskStartEvent {
  readonly upid: string;
  readonly node: string;
  readonly type: string;
  /** Object id (vmid, storage id), `''` when none. */
  readonly id: string;
  readonly user: string;
  readonly starttime: number;
}

/** Payload of `task:log`: one line (no newline) as persisted in the task log. */
export interface TaskLogEvent {
  readonly upid: string;
  readonly line: string;
}

/** Payload of `task:progress`: `progress` is a fraction from 0 to 1. */
export interface TaskProgressEvent {
  readonly upid: string;
  readonly progress: number;
}

/** Payload of `task:end`. `exitstatus` is Proxmox's: `OK`, `WARNINGS: <n>`, or the error message. */
export interface TaskEndEvent {
  readonly upid: string;
  readonly status: TaskEndStatus;
  readonly exitstatus: string;
  readonly endtime: number;
}

/** Payload of `guest:state`: the guest's runtime state changed (`destroyed` when it is gone). */
export interface GuestStateEvent {
  readonly vmid: number;
  readonly type: GuestType;
  readonly state: GuestState | 'destroyed';
}

/** Payload of `guest:config`: the guest's config was written (`digest` of the new content when known). */
export interface GuestConfigEvent {
  readonly vmid: number;
  readonly type: GuestType;
  readonly digest?: string;
}

/**
 * Event name -> listener signature. An interface so plugins can add events by declaration
 * merging (see the module comment).
 */
export interface CorralEvents {
  /** A task started (before its function runs). */
  'task:start': (event: TaskStartEvent) => void;
  /** A task logged a line (after it was appended to the task log). */
  'task:log': (event: TaskLogEvent) => void;
  /** A task reported progress. */
  'task:progress': (event: TaskProgressEvent) => void;
  /** A task ended (after its final status was persisted). */
  'task:end': (event: TaskEndEvent) => void;
  'guest:state': (event: GuestStateEvent) => void;
  'guest:config': (event: GuestConfigEvent) => void;
}

/** Names of the events in {@link CorralEvents}. */
export type CorralEventName = keyof CorralEvents;

/** The payload type of event `E`. */
export type CorralEventPayload<E extends CorralEventName> = Parameters<CorralEvents[E]>[0];
