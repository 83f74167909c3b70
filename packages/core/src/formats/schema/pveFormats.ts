/**
 * The named value formats of Proxmox VE's JSON schema (`PVE::JSONSchema::register_format`
 * and the formats registered by qemu-server and pve-container) that a regular expression
 * alone does not express well. A schema refers to one with the `pveFormat` option; the
 * validators return an error message, or `undefined` when the value is fine.
 *
 * @packageDocumentation
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Storage ids: Proxmox's `parse_storage_id`. */
export const STORAGE_ID_RE = /^[a-z][a-z0-9_.-]*[a-z0-9]$/i;
/** Volume ids `storeid:volname`: Proxmox's `parse_volume_id`. */
export const VOLUME_ID_RE = /^([a-z][a-z0-9_.-]*[a-z0-9]):(.+)$/i;
/** Unicast MAC addresses (the I/G bit clear), Proxmox's `mac-addr` format. */
export const MAC_RE = /^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i;
/** Snapshot and other config ids (`pve-configid`). */
export const CONFIG_ID_RE = /^[a-z][a-z0-9_-]+$/i;
/** Guest tags (`pve-tag`). */
export const TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
const DNS_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
/** DNS names (`dns-name`). */
export const DNS_NAME_RE = new RegExp(`^(?:${DNS_LABEL}\\.)*${DNS_LABEL}$`);

/** Splits a list as `PVE::Tools::split_list`: on `,`, `;` and white space (or NUL bytes). */
export function splitList(text: string): string[] {
  if (text.includes('\0')) return text.split('\0');
  return text.split(/[,;\s]+/).filter((s) => s !== '');
}

function cidr(value: string, isIp: (s: string) => boolean, maxBits: number): boolean {
  const match = /^(.+)\/(\d+)$/.exec(value);
  if (!match || !isIp(match[1]!)) return false;
  const bits = Number(match[2]);
  // Proxmox accepts prefixes from 8 up to the address size.
  return bits > 7 && bits <= maxBits;
}

/** `storeid:volname` with a valid storage id. */
function volumeId(value: string): string | undefined {
  if (!VOLUME_ID_RE.test(value)) {
    return `is not a volume id ('storage:name' with a valid storage id)`;
  }
  return undefined;
}

/** No `/./`, `/../`, trailing `/.` or `/..`, or leading `../` (pve-container's `verify_lxc_mp_string`). */
function lxcMpString(value: string): string | undefined {
  if (/\/\.\.?\//.test(value) || /\/\.\.?$/.test(value) || /^\.\.\//.test(value)) return 'contains illegal path sequences (. or ..)';
  return undefined;
}

function isHexDigit(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/** CPU flags a VM config may set (`cpu: ...,flags=+pcid;-ssbd`). */
export const QEMU_VM_CPU_FLAGS = [
  'pcid',
  'spec-ctrl',
  'ibpb',
  'ssbd',
  'virt-ssbd',
  'amd-ssbd',
  'amd-no-ssb',
  'pdpe1gb',
  'md-clear',
  'hv-tlbflush',
  'hv-evmcs',
  'aes',
] as const;

const VM_CPU_FLAGS: ReadonlySet<string> = new Set(QEMU_VM_CPU_FLAGS);

/** `+FLAG` or `-FLAG` separated by `;`, each flag one of {@link QEMU_VM_CPU_FLAGS}. */
function cpuFlags(v: string): string | undefined {
  const bad = v.split(';').find((f) => (f[0] !== '+' && f[0] !== '-') || !VM_CPU_FLAGS.has(f.slice(1)));
  return bad === undefined ? undefined : `has '${bad}', which is not '+FLAG' or '-FLAG' with FLAG one of: ${QEMU_VM_CPU_FLAGS.join(', ')}`;
}

/** A link-local IPv6 address's interface: a letter, 1 to 20 letters, digits or `_`, maybe `:N` or `.N`. */
function isInterfaceName(name: string): boolean {
  const m = /^([a-z][a-z0-9_]+)(?:[:.]\d+)?$/i.exec(name);
  return m !== null && m[1]!.length <= 21;
}

/**
 * `urlencoded` (Proxmox's `[-%a-zA-Z0-9_.!~*'()]*`), and also what Proxmox leaves to the
 * decoder: every `%` starts a `%XX` escape, the bytes are UTF-8, and none decodes to NUL (a
 * decoded value goes into QEMU's command line, which cannot hold one).
 */
function urlencoded(v: string): string | undefined {
  if (!/^[-%a-zA-Z0-9_.!~*'()]*$/.test(v)) return 'must be URL-encoded';
  for (let i = v.indexOf('%'); i >= 0; i = v.indexOf('%', i + 1)) {
    if (!isHexDigit(v.charCodeAt(i + 1)) || !isHexDigit(v.charCodeAt(i + 2))) return "must be URL-encoded: '%' must start an escape like %20";
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(v);
  } catch {
    return 'must be URL-encoded UTF-8: an escape sequence is not UTF-8';
  }
  return decoded.includes('\0') ? 'must not decode to a NUL character (%00)' : undefined;
}

function bootDevice(dev: string): boolean {
  const match = /^([a-z]+)(\d+)$/.exec(dev);
  if (!match || String(Number(match[2])) !== match[2]) return false;
  const limits: Record<string, number> = { ide: 4, sata: 6, scsi: 31, virtio: 16, net: 32, usb: 14, hostpci: 16 };
  const limit = limits[match[1]!];
  return limit !== undefined && Number(match[2]) < limit;
}

/** The validators, by format name. */
export const PVE_FORMATS = {
  mac: (v: string) => (MAC_RE.test(v) ? undefined : 'is not a valid unicast MAC address (XX:XX:XX:XX:XX:XX, multicast bit clear)'),
  'dns-name': (v: string) => (DNS_NAME_RE.test(v) ? undefined : 'is not a valid DNS name'),
  'dns-name-list': (v: string) => {
    const bad = splitList(v).find((n) => !DNS_NAME_RE.test(n));
    return bad === undefined ? undefined : `contains '${bad}', which is not a valid DNS name`;
  },
  ipv4: (v: string) => (isIPv4(v) ? undefined : 'is not a valid IPv4 address'),
  ipv6: (v: string) => (isIPv6(v) ? undefined : 'is not a valid IPv6 address'),
  'ipv4-config': (v: string) =>
    v === 'dhcp' || v === 'manual' || cidr(v, isIPv4, 32) ? undefined : "must be 'dhcp', 'manual' or an IPv4 address in CIDR notation (a.b.c.d/8..32)",
  'ipv6-config': (v: string) =>
    v === 'auto' || v === 'dhcp' || v === 'manual' || cidr(v, isIPv6, 128)
      ? undefined
      : "must be 'auto', 'dhcp', 'manual' or an IPv6 address in CIDR notation (prefix 8..128)",
  'address-list': (v: string) => {
    const bad = splitList(v).find((a) => !isIPv4(a) && !isIPv6(a) && !DNS_NAME_RE.test(a));
    return bad === undefined ? undefined : `contains '${bad}', which is neither an IP address nor a DNS name`;
  },
  'ip-ll-list': (v: string) => {
    // pve-container: IP addresses; link-local IPv6 may carry an interface (fe80::1%eth0).
    const ok = (a: string): boolean => {
      const ll = /^(fe80:[^%]+)%(.+)$/i.exec(a);
      if (ll) return isIPv6(ll[1]!) && isInterfaceName(ll[2]!);
      return isIPv4(a) || isIPv6(a);
    };
    const bad = splitList(v).find((a) => !ok(a));
    return bad === undefined ? undefined : `contains '${bad}', which is not an IP address`;
  },
  'storage-id': (v: string) => (STORAGE_ID_RE.test(v) ? undefined : 'is not a valid storage id'),
  'volume-id': volumeId,
  'volume-id-or-qm-path': (v: string) => {
    if (v === 'none' || v === 'cdrom') return undefined;
    if (v.startsWith('/')) return undefined;
    return volumeId(v) && `is neither a volume id ('storage:name'), an absolute path, 'none' nor 'cdrom'`;
  },
  'lxc-volume': (v: string) => {
    const bad = lxcMpString(v);
    if (bad) return bad;
    if (v.startsWith('/')) return undefined;
    return volumeId(v) && `is neither a volume id ('storage:name', or 'storage:SIZE_GiB' to allocate) nor an absolute path`;
  },
  'lxc-mp-path': (v: string) => lxcMpString(v) ?? (v.startsWith('/') ? undefined : 'must be an absolute path inside the container'),
  'lxc-dev-path': (v: string) =>
    /\/\.\.?(?:\/|$)/.test(v) || !v.startsWith('/dev/') ? 'is not a valid device path (must start with /dev/, no . or ..)' : undefined,
  'config-id': (v: string) => (CONFIG_ID_RE.test(v) ? undefined : 'is not a valid name (a letter, then letters, digits, _ or -)'),
  'tag-list': (v: string) => {
    const bad = splitList(v).find((t) => !TAG_RE.test(t));
    return bad === undefined ? undefined : `contains the invalid tag '${bad}'`;
  },
  'startup-order': (v: string) => {
    for (const part of v.split(',')) {
      if (/^\s*$/.test(part)) continue;
      if (!/^(?:order=)?\d+$/.test(part) && !/^up=\d+$/.test(part) && !/^down=\d+$/.test(part)) {
        return `is not a startup order ('[order=]N,up=N,down=N'): cannot parse '${part}'`;
      }
    }
    return v.trim() === '' ? 'is empty' : undefined;
  },
  hotplug: (v: string) => {
    if (v === '0' || v === '1') return undefined;
    const bad = splitList(v).find((f) => !/^(?:network|disk|cpu|memory|usb|cloudinit)$/.test(f));
    return bad === undefined ? undefined : `has the unknown hotplug feature '${bad}' (network, disk, cpu, memory, usb, cloudinit, or 0/1)`;
  },
  'boot-order': (v: string) => {
    const bad = splitList(v).find((d) => !bootDevice(d));
    return bad === undefined ? undefined : `has the invalid boot device '${bad}' (a disk such as scsi0, a net, usb or hostpci device)`;
  },
  cpuset: (v: string) => {
    for (const part of v.split(',')) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) return `is not a CPU set such as 0,5,8-11 (at '${part}')`;
    }
    return undefined;
  },
  urlencoded: urlencoded,
  'cpu-flags': cpuFlags,
  timezone: (v: string) => (v === 'host' || /^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/.test(v) ? undefined : "is not a time zone name (such as Europe/Vienna) or 'host'"),
} as const satisfies Record<string, (value: string) => string | undefined>;

/** The name of a format in {@link PVE_FORMATS}. */
export type PveFormat = keyof typeof PVE_FORMATS;
