/**
 * The kernel initiator through open-iscsi's `iscsiadm`, as Proxmox's ISCSIPlugin drives it:
 * session list, node records, SendTargets discovery, login (with login retries off), logout,
 * rescan. Every call goes through the context's CommandRunner.
 *
 * @packageDocumentation
 */
import { CommandFailedError, NotFoundError, UnavailableError, type StorageContext } from '@corral/core';
import { ISCSI_DEFAULT_PORT } from './iscsiOptions.js';

/** How long one iscsiadm call may run, ms. */
export const ISCSIADM_TIMEOUT_MS = 60_000;

/** One logged-in session of a target. */
export interface IscsiSession {
  readonly sessionId: number;
  /** `address:port` (without the portal group tag). */
  readonly portal: string;
}

/**
 * Parses `iscsiadm --mode session`: lines like
 * `tcp: [1] 192.168.122.252:3260,1 iqn.2003-01.org.linux-iscsi.pve:sn.00567885ba8f (non-flash)`.
 * Returns the sessions per target (several per target with multipath).
 */
export function parseIscsiSessions(text: string): Map<string, IscsiSession[]> {
  const out = new Map<string, IscsiSession[]>();
  for (const line of text.split('\n')) {
    const m = /^tcp:\s+\[(\d+)\]\s+(\S+:\d+),\S+\s+(\S+)(?:\s+\S+)?\s*$/.exec(line.trim());
    if (!m) continue;
    const list = out.get(m[3]!) ?? [];
    list.push({ sessionId: Number(m[1]), portal: m[2]! });
    out.set(m[3]!, list);
  }
  return out;
}

/**
 * Parses `iscsiadm --mode node` and SendTargets discovery output: lines
 * `192.168.122.252:3260,1 iqn.2003-01.org.example:target`. Returns the portals per target.
 */
export function parseIscsiTargets(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^(\S+:\d+),\S+\s+(\S+)\s*$/.exec(line.trim());
    if (!m) continue;
    const list = out.get(m[2]!) ?? [];
    if (!list.includes(m[1]!)) list.push(m[1]!);
    out.set(m[2]!, list);
  }
  return out;
}

/** `host:port` with the default port added, for comparing a configured portal with iscsiadm's. */
export function portalWithPort(portal: string): string {
  return /:\d+$/.test(portal.replace(/^\[[^\]]*\]/, '')) ? portal : `${portal}:${ISCSI_DEFAULT_PORT}`;
}

async function iscsiadm(ctx: StorageContext, args: string[], okExitCodes: number[] = [0]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  try {
    return await ctx.runner.run(['iscsiadm', ...args], { timeoutMs: ISCSIADM_TIMEOUT_MS, signal: ctx.signal, okExitCodes });
  } catch (err) {
    if (err instanceof NotFoundError && err.kind === 'program') {
      throw new UnavailableError('open-iscsi', 'no iscsi support: iscsiadm is not installed (Debian package open-iscsi)', { cause: err });
    }
    throw err;
  }
}

/**
 * The sessions of every target (`iscsiadm --mode session`); exit 21 "No active sessions" is
 * an empty map.
 *
 * @throws UnavailableError when iscsiadm is missing; CommandFailedError for other failures.
 */
export async function listIscsiSessions(ctx: StorageContext): Promise<Map<string, IscsiSession[]>> {
  const r = await iscsiadm(ctx, ['--mode', 'session'], [0, 21]);
  if (r.exitCode === 21) {
    if (/No active sessions/i.test(r.stderr)) return new Map();
    throw new CommandFailedError(['iscsiadm', '--mode', 'session'], 21, r.stderr);
  }
  return parseIscsiSessions(r.stdout);
}

/**
 * The portals of `target` in the node database (`iscsiadm --mode node`), or `[portal]` when
 * there are none or the call fails (Proxmox's iscsi_portals).
 */
export async function iscsiPortals(ctx: StorageContext, target: string, portal: string): Promise<string[]> {
  try {
    const r = await iscsiadm(ctx, ['--mode', 'node'], [0, 21]);
    const found = r.exitCode === 0 ? parseIscsiTargets(r.stdout).get(target) : undefined;
    return found && found.length > 0 ? found : [portal];
  } catch (err) {
    if (err instanceof UnavailableError) throw err;
    ctx.log.warn(`storage '${ctx.storage.id}': iscsiadm --mode node failed: ${(err as Error).message}`);
    return [portal];
  }
}

/**
 * SendTargets discovery on each portal in turn until one answers with targets (multipath
 * portals all report the same targets). Failures are logged, not thrown. Returns the portals
 * per discovered target.
 */
export async function discoverIscsiTargets(ctx: StorageContext, portals: readonly string[]): Promise<Map<string, string[]>> {
  for (const portal of portals) {
    try {
      const r = await iscsiadm(ctx, ['--mode', 'discovery', '--type', 'sendtargets', '--portal', portal]);
      const found = parseIscsiTargets(r.stdout);
      if (found.size > 0) return found;
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      ctx.log.warn(`storage '${ctx.storage.id}': discovery on ${portal} failed: ${(err as Error).message}`);
    }
  }
  return new Map();
}

/**
 * Logs in to `target` as Proxmox does: discovery on `portals` (failures logged), login retries
 * set to 0 (failure logged), then `iscsiadm --mode node --targetname <target> --login`.
 *
 * @throws UnavailableError naming the target and iscsiadm's message when the login fails.
 */
export async function loginIscsiTarget(ctx: StorageContext, target: string, portals: readonly string[]): Promise<void> {
  await discoverIscsiTargets(ctx, portals);
  try {
    await iscsiadm(ctx, ['--mode', 'node', '--targetname', target, '--op', 'update', '--name', 'node.session.initial_login_retry_max', '--value', '0']);
  } catch (err) {
    if (err instanceof UnavailableError) throw err;
    ctx.log.warn(`storage '${ctx.storage.id}': could not turn login retries off: ${(err as Error).message}`);
  }
  try {
    await iscsiadm(ctx, ['--mode', 'node', '--targetname', target, '--login']);
  } catch (err) {
    if (err instanceof CommandFailedError) {
      throw new UnavailableError('iscsi target', `storage '${ctx.storage.id}': login to ${target} failed: ${err.stderr.trim()}`, { cause: err });
    }
    throw err;
  }
}

/** `iscsiadm --mode node --targetname <target> --logout`. */
export async function logoutIscsiTarget(ctx: StorageContext, target: string): Promise<void> {
  await iscsiadm(ctx, ['--mode', 'node', '--targetname', target, '--logout']);
}

/** Rescans each session for new LUNs (`iscsiadm --mode session --sid N --rescan`); failures are logged. */
export async function rescanIscsiSessions(ctx: StorageContext, sessions: readonly IscsiSession[]): Promise<void> {
  for (const s of sessions) {
    try {
      await iscsiadm(ctx, ['--mode', 'session', '--sid', String(s.sessionId), '--rescan']);
    } catch (err) {
      ctx.log.warn(`storage '${ctx.storage.id}': rescan of session ${s.sessionId} failed: ${(err as Error).message}`);
    }
  }
}
