import { parsePropertyString, type PrivilegedUse } from '@corral/core';
import { DRIVE_PROPERTY_FORMAT } from './driveFormat.js';
import { isDriveKey } from './parseQemuConfig.js';

const INDEXED = /^(serial|parallel|hostpci|usb|virtiofs)\d+$/;

/** Keys whose every value reaches host root, with why. */
const ALWAYS_PRIVILEGED: Readonly<Record<string, string>> = {
  args: 'raw QEMU arguments',
  hookscript: 'a hook script run on the host',
  affinity: 'pinning to host CPUs',
  ivshmem: 'host shared memory',
};

/**
 * The root-equivalent uses among `keys` of a VM config, as qemu-server lets only `root@pam`
 * set them: raw `args`, a `hookscript`, host CPU `affinity`, `ivshmem`; disks, `efidisk0` and
 * `tpmstate0` that are host paths or devices, and the host CD-ROM drive (`cdrom`); serial
 * and parallel ports on host devices; PCI passthrough (`hostpciN`, there are no mappings
 * yet); host USB devices (`usbN: host=...`, except `spice`); `virtiofsN` (host directories).
 * A value that does not parse counts as privileged.
 */
export function qemuPrivilegedUses(entries: Readonly<Record<string, string>>, keys: readonly string[]): PrivilegedUse[] {
  const out: PrivilegedUse[] = [];
  for (const key of new Set(keys)) {
    const value = entries[key];
    if (value === undefined) continue;
    const reason = privilegedReason(key, value);
    if (reason) out.push({ key, reason });
  }
  return out;
}

function privilegedReason(key: string, value: string): string | undefined {
  if (Object.hasOwn(ALWAYS_PRIVILEGED, key)) return ALWAYS_PRIVILEGED[key];
  if (isDriveKey(key) || key === 'cdrom' || key === 'efidisk0' || key === 'tpmstate0') {
    let file: string | undefined;
    try {
      file = parsePropertyString(value, DRIVE_PROPERTY_FORMAT, { key }).file;
    } catch {
      return 'an unreadable drive value';
    }
    if (file === undefined) return undefined;
    if (file === 'cdrom') return "the host's CD-ROM drive";
    if (file.startsWith('/')) return 'a host path or device as a disk';
    return undefined;
  }
  const m = INDEXED.exec(key);
  if (!m) return undefined;
  switch (m[1]) {
    case 'serial':
      return value === 'socket' ? undefined : 'a host serial device';
    case 'parallel':
      return 'a host parallel port';
    case 'hostpci':
      return 'PCI passthrough of a host device';
    case 'virtiofs':
      return 'a host directory shared with the guest';
    case 'usb': {
      let host: string | undefined;
      try {
        host = parsePropertyString(value, { defaultKey: 'host' }, { key }).host;
      } catch {
        return 'an unreadable USB value';
      }
      return host === undefined || host.toLowerCase() === 'spice' ? undefined : 'a host USB device';
    }
    default:
      return undefined;
  }
}
