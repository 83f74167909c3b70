/**
 * How the rbd driver reaches a cluster: the ceph.conf and keyring every `rbd`/`ceph` call and
 * every QEMU access uses, written into the storage's private run directory.
 *
 * - With `monhost` or a `keyring` secret, a conf is generated at `<runDir>/ceph.conf`: the
 *   definition's `conf` (or `/etc/ceph/ceph.conf` when there is no `monhost`) followed by
 *   `[global] mon_host = ...` and `[client.<id>] keyring = <runDir>/keyring` (later lines win
 *   in ceph.conf). QEMU's `-blockdev` has no keyring field, so the key must come from a conf.
 * - Otherwise the definition's `conf` (default `/etc/ceph/ceph.conf`) is used as it is.
 *
 * The keyring secret is written with mode 0600 and never appears in an argv.
 *
 * @packageDocumentation
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InvalidConfigError, type StorageContext } from '@corral/core';
import { formatMonitor, type RbdOptions } from './rbdOptions.js';

/** The conf used when a definition names none. */
export const DEFAULT_CEPH_CONF = '/etc/ceph/ceph.conf';

/** Everything a command or QEMU needs to reach the cluster. */
export interface RbdConnection {
  /** ceph.conf passed as `-c` / QEMU `conf`. */
  readonly confPath: string;
  /** Keyring file, when the storage has a `keyring` secret. */
  readonly keyringPath?: string;
  /** `-m` value (monitors joined by `,`), when the definition has `monhost`. */
  readonly monHost?: string;
  /** cephx id without `client.`. */
  readonly userId: string;
  /** `--auth_supported` value when the definition sets `authsupported`. */
  readonly authSupported?: 'cephx' | 'none';
  /** Seconds librados waits for the monitors (`client_mount_timeout`). */
  readonly connectTimeoutSeconds: number;
}

const BARE_KEY = /^[A-Za-z0-9+/]{20,}={0,2}$/;

/**
 * Turns the `keyring` secret into keyring file text: keyring contents are kept (they must
 * hold a `key = ` line), a bare base64 key becomes `[client.<id>] key = <key>`.
 *
 * @throws InvalidConfigError (key `keyring`, value withheld) for anything else.
 */
export function keyringText(secret: string, userId: string): string {
  const text = secret.trim();
  if (BARE_KEY.test(text)) return `[client.${userId}]\n\tkey = ${text}\n`;
  if (/^\s*key\s*=\s*\S+/m.test(text)) return `${text}\n`;
  throw new InvalidConfigError('keyring', '(secret)', "option 'keyring' must be keyring file contents with a 'key = ...' line, or a base64 cephx key");
}

/** Writes `text` to `path` (mode 0600) unless it already holds exactly that; atomic (temp file + rename). */
async function writePrivate(path: string, text: string): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === text) return;
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/**
 * Prepares the conf/keyring files of a storage in `ctx.runDir` (idempotent, cheap when
 * nothing changed) and answers how to connect.
 *
 * @throws InvalidConfigError for a `conf` that cannot be read or a malformed `keyring`.
 */
export async function prepareRbdConnection(ctx: StorageContext, opts: RbdOptions, connectTimeoutSeconds: number): Promise<RbdConnection> {
  const secret = ctx.secrets.keyring;
  const monHost = opts.monitors.length > 0 ? opts.monitors.map(formatMonitor).join(',') : undefined;
  const base = { userId: opts.userId, monHost, authSupported: opts.authSupported, connectTimeoutSeconds };
  if (!secret && !monHost) return { ...base, confPath: opts.conf ?? DEFAULT_CEPH_CONF };

  await mkdir(ctx.runDir, { recursive: true, mode: 0o700 });
  let keyringPath: string | undefined;
  if (secret) {
    keyringPath = join(ctx.runDir, 'keyring');
    await writePrivate(keyringPath, keyringText(secret, opts.userId));
  }
  let baseConf = '';
  const source = opts.conf ?? (monHost ? undefined : DEFAULT_CEPH_CONF);
  if (source) {
    try {
      baseConf = await readFile(source, 'utf8');
    } catch (err) {
      if (opts.conf) throw new InvalidConfigError('conf', opts.conf, `storage '${ctx.storage.id}': cannot read ceph.conf '${opts.conf}': ${(err as Error).message}`, { cause: err });
    }
  }
  const lines = [
    `# Written by Corral for storage '${ctx.storage.id}'${source ? ` from ${source}` : ''}; regenerated on use, do not edit.`,
    baseConf.trimEnd(),
    '',
  ];
  if (monHost || opts.authSupported) {
    lines.push('[global]');
    if (monHost) lines.push(`mon_host = ${monHost}`);
    if (opts.authSupported) lines.push(`auth_client_required = ${opts.authSupported}`);
    lines.push('');
  }
  if (keyringPath) lines.push(`[client.${opts.userId}]`, `keyring = ${keyringPath}`, '');
  const confPath = join(ctx.runDir, 'ceph.conf');
  await writePrivate(confPath, lines.join('\n'));
  return { ...base, confPath, keyringPath };
}

/**
 * The connection arguments of every `rbd`/`ceph` call: `-c <conf> [-m <mons>]
 * [--auth_supported <x>] --id <id> [--keyring <file>] --client_mount_timeout <s>`.
 */
export function connectionArgs(c: RbdConnection): string[] {
  return [
    '-c',
    c.confPath,
    ...(c.monHost ? ['-m', c.monHost] : []),
    ...(c.authSupported ? ['--auth_supported', c.authSupported] : []),
    '--id',
    c.userId,
    ...(c.keyringPath ? ['--keyring', c.keyringPath] : []),
    '--client_mount_timeout',
    String(c.connectTimeoutSeconds),
  ];
}
