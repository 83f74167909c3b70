import { InvalidConfigError, type CommandRunner, writeShareFiles } from '@corral/core';
import { cifsUsesKerberos } from './cifsMount.js';
import type { CifsMountSpec } from './cifsOptions.js';
import { cifsShareMount } from './cifsMount.js';

/** The probe runs at most this long, ms (pve uses 10 s). */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * The argv that checks the share answers, as pve's CIFSPlugin `check_connection`:
 * `smbclient //<server>/<share> -d 0 [-m smb<N>]` then `--use-kerberos=required`, or with a
 * password `-U <user> -A <credentials file> [-W <domain>]`, or `-U Guest -N`; then `-c 'echo 1 0'`.
 */
export function cifsProbeArgv(spec: CifsMountSpec): string[] {
  const argv = ['smbclient', `//${spec.server}/${spec.share}`, '-d', '0'];
  if (spec.smbversion !== undefined && spec.smbversion !== 'default') argv.push('-m', `smb${parseInt(spec.smbversion, 10)}`);
  if (cifsUsesKerberos(spec.mountOptions)) argv.push('--use-kerberos=required');
  else if (spec.password !== undefined) {
    argv.push('-U', spec.username ?? '', '-A', spec.credentialsFile);
    if (spec.domain) argv.push('-W', spec.domain);
  } else argv.push('-U', 'Guest', '-N');
  argv.push('-c', 'echo 1 0');
  return argv;
}

/** smbclient answers that mean the definition is wrong, not that the server is down (pve dies on them). */
const AUTH_FAILURE = /NT_STATUS_(ACCESS_DENIED|INVALID_PARAMETER|LOGON_FAILURE)/;

/**
 * True when the share answers {@link cifsProbeArgv}; false when the server or share does not
 * (the credentials file is written first, mode 0600).
 *
 * @throws InvalidConfigError (key `password`) when the server refuses the credentials.
 */
export async function cifsShareReachable(runner: CommandRunner, spec: CifsMountSpec, signal?: AbortSignal): Promise<boolean> {
  await writeShareFiles(cifsShareMount(spec));
  const res = await runner.run(cifsProbeArgv(spec), { timeoutMs: PROBE_TIMEOUT_MS, signal, okExitCodes: [0, 1] }).catch(() => undefined);
  if (!res) return false;
  const auth = AUTH_FAILURE.exec(res.stdout + res.stderr);
  if (auth)
    throw new InvalidConfigError(
      'password',
      '<secret>',
      `cifs share //${spec.server}/${spec.share} refused the credentials of '${spec.username ?? 'Guest'}': ${auth[0]}`
    );
  return res.exitCode === 0;
}
