import { isIPv6 } from 'node:net';
import type { CifsMountSpec } from './cifsOptions.js';
import type { ShareMount } from '@corral/core';

/** `//server/share/subdir` (IPv6 server in brackets), as `mount.cifs` and /proc/mounts spell it. */
export function cifsSource(spec: Pick<CifsMountSpec, 'server' | 'share' | 'subdir'>): string {
  const host = isIPv6(spec.server) ? `[${spec.server}]` : spec.server;
  return `//${host}/${spec.share}${spec.subdir}`;
}

/** True when the mount options ask for Kerberos (`sec=krb5`, `krb5i`, `krb5p`), as pve's `cifs_uses_kerberos`. */
export function cifsUsesKerberos(mountOptions: string | undefined): boolean {
  if (!mountOptions) return false;
  return /(?:^|,)sec=krb5(?:i|p)?(?:,|$)/i.test(mountOptions.replace(/\s+/g, ''));
}

/**
 * The argv that mounts the share, as pve's `cifs_mount`: `mount -t cifs <source> <path> -o soft`,
 * then with Kerberos nothing more, with a password `-o username=<user> -o credentials=<file>
 * [-o domain=<domain>]`, else `-o guest,username=guest`; then `-o vers=<smbversion|default>`
 * and `-o <options>` when set.
 */
export function cifsMountArgv(spec: CifsMountSpec): string[] {
  const argv = ['mount', '-t', 'cifs', cifsSource(spec), spec.path, '-o', 'soft'];
  if (cifsUsesKerberos(spec.mountOptions)) {
    // Kerberos: the ticket authenticates; username/domain would only be informational.
  } else if (spec.password !== undefined) {
    argv.push('-o', `username=${spec.username ?? ''}`, '-o', `credentials=${spec.credentialsFile}`);
    if (spec.domain !== undefined) argv.push('-o', `domain=${spec.domain}`);
  } else {
    argv.push('-o', 'guest,username=guest');
  }
  argv.push('-o', `vers=${spec.smbversion ?? 'default'}`);
  if (spec.mountOptions) argv.push('-o', spec.mountOptions);
  return argv;
}

/** The {@link ShareMount} of a cifs share; with a password, the credentials file (`password=...`, mode 0600) it reads. */
export function cifsShareMount(spec: CifsMountSpec): ShareMount {
  const usesFile = !cifsUsesKerberos(spec.mountOptions) && spec.password !== undefined;
  return {
    fstype: 'cifs',
    source: cifsSource(spec),
    path: spec.path,
    argv: cifsMountArgv(spec),
    ...(usesFile ? { files: [{ path: spec.credentialsFile, content: `password=${spec.password}\n` }] } : {}),
  };
}
