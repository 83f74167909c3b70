import { classifyMountPoint, parsePropertyString, type PrivilegedUse } from '@corral/core';

const MOUNT_KEY = /^(rootfs|mp\d+)$/;
const DEVICE_KEY = /^dev\d+$/;

/**
 * The root-equivalent uses among `keys` of a container config, as pve-container lets only
 * `root@pam` set them, plus what reaches host root in Corral's own keys:
 * - raw `lxc.*` keys (hooks, includes, mount entries, device rules, AppArmor profiles);
 * - `rootfs`/`mpN` that are bind mounts of host paths or host devices (not storage volumes);
 * - `devN` device passthrough; a `hookscript`;
 * - `features` other than `nesting`, and any `features` of a privileged container;
 * - a privileged container: `unprivileged: 0`, or at create no `unprivileged: 1` (as in
 *   Proxmox the default is privileged, and its root is the host's root); after create, any
 *   change of `unprivileged` (set or deleted: Proxmox fixes it at create);
 * - `ostemplate` (a create parameter) given as a host path instead of a template volume.
 * A value that does not parse counts as privileged.
 */
export function lxcPrivilegedUses(entries: Readonly<Record<string, string>>, keys: readonly string[], options: { create?: boolean } = {}): PrivilegedUse[] {
  const out: PrivilegedUse[] = [];
  const privilegedContainer = entries.unprivileged !== '1';
  for (const key of new Set(keys)) {
    const value = entries[key];
    if (value === undefined) continue;
    const reason = privilegedReason(key, value, privilegedContainer, options.create ?? false);
    if (reason) out.push({ key, reason });
  }
  if (options.create && privilegedContainer && !out.some((u) => u.key === 'unprivileged')) {
    out.push({ key: 'unprivileged', reason: "a privileged container, whose root user is the host's root: set 'unprivileged: 1'" });
  }
  return out;
}

function privilegedReason(key: string, value: string, privilegedContainer: boolean, create: boolean): string | undefined {
  if (key.startsWith('lxc.')) return 'a raw LXC key';
  if (key === 'hookscript') return 'a hook script run on the host';
  if (DEVICE_KEY.test(key)) return 'passthrough of a host device';
  if (key === 'unprivileged') {
    if (!create) return "changing a container's privilege mode (fixed at create in Proxmox)";
    return value === '1' ? undefined : "a privileged container (its root user is the host's root)";
  }
  if (key === 'ostemplate') return value.startsWith('/') ? 'a template read from a host path' : undefined;
  if (MOUNT_KEY.test(key)) {
    let volume: string | undefined;
    try {
      volume = parsePropertyString(value, { defaultKey: 'volume' }, { key }).volume;
    } catch {
      return 'an unreadable mount point value';
    }
    if (volume === undefined) return undefined;
    const type = classifyMountPoint(volume);
    return type === 'volume' ? undefined : type === 'device' ? 'a host device mounted into the container' : 'a bind mount of a host path';
  }
  if (key === 'features') {
    if (privilegedContainer) return 'features of a privileged container';
    let features: Record<string, string>;
    try {
      features = parsePropertyString(value, {}, { key });
    } catch {
      return 'an unreadable features value';
    }
    const others = Object.keys(features).filter((f) => f !== 'nesting');
    return others.length > 0 ? `container features other than nesting (${others.join(', ')})` : undefined;
  }
  return undefined;
}
