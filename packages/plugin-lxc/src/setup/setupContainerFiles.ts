/**
 * The files the host writes into a container before each start (pve-container's
 * `PVE::LXC::Setup` in short): `/etc/hostname`, a managed block in `/etc/hosts`,
 * `/etc/resolv.conf` when `nameserver`/`searchdomain` are set, `/etc/network/interfaces` for
 * ifupdown systems; and at create, the root password and SSH keys.
 *
 * Static addresses are configured by LXC itself (`lxc.net.N.ipv4.address`), so they work on
 * any distribution; the interfaces file says `manual` for them and `dhcp` where asked.
 * `ostype: unmanaged` skips all of this.
 *
 * @packageDocumentation
 */
import { splitList } from '../util/splitList.js';
import type { ContainerConfig } from '../config/parseContainerConfig.js';
import type { RootfsFiles } from './RootfsFiles.js';
import { sha512Crypt } from './sha512Crypt.js';

const BEGIN = '# --- BEGIN CORRAL ---';
const END = '# --- END CORRAL ---';

/** The container's hostname: `hostname`, else `CT<vmid>` as Proxmox. */
export function containerHostname(config: ContainerConfig, vmid: number): string {
  return config.values.hostname ?? `CT${vmid}`;
}

/** Replaces (or appends) the block between Corral's markers. */
export function replaceManagedBlock(text: string, block: string): string {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  const managed = `${BEGIN}\n${block}${block.endsWith('\n') || block === '' ? '' : '\n'}${END}\n`;
  if (start >= 0 && end > start) return text.slice(0, start) + managed + text.slice(end + END.length).replace(/^\n/, '');
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${managed}`;
}

/** `/etc/network/interfaces` for the config's interfaces. */
export function interfacesFile(config: ContainerConfig): string {
  const lines = ['# Written by Corral at every container start; static addresses are set by LXC.', 'auto lo', 'iface lo inet loopback', ''];
  for (const { net } of config.nets) {
    lines.push(`auto ${net.name}`);
    lines.push(`iface ${net.name} inet ${net.ip === 'dhcp' ? 'dhcp' : 'manual'}`);
    if (net.ip6 === 'dhcp' || net.ip6 === 'auto') lines.push(`iface ${net.name} inet6 ${net.ip6}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** Ostypes whose network is configured by `/etc/network/interfaces`. */
const IFUPDOWN_OSTYPES = new Set(['debian', 'ubuntu', 'devuan', 'alpine']);

/**
 * Writes hostname, hosts, resolv.conf and the interfaces file into a stopped container's
 * rootfs. Does nothing for `ostype: unmanaged`.
 */
export async function setupContainerFiles(files: RootfsFiles, config: ContainerConfig, vmid: number): Promise<void> {
  const ostype = config.values.ostype;
  if (ostype === 'unmanaged') return;
  const hostname = containerHostname(config, vmid);
  const short = hostname.split('.')[0]!;
  const domain = config.values.searchdomain ? splitList(config.values.searchdomain)[0] : undefined;
  const fqdn = hostname.includes('.') || !domain ? hostname : `${hostname}.${domain}`;

  if ((await files.read('/etc/hostname'))?.trim() !== short) await files.write('/etc/hostname', `${short}\n`);
  const hosts = (await files.read('/etc/hosts')) ?? '127.0.0.1\tlocalhost\n';
  const names = fqdn === short ? short : `${fqdn} ${short}`;
  const nextHosts = replaceManagedBlock(hosts, `127.0.1.1\t${names}\n`);
  if (nextHosts !== hosts) await files.write('/etc/hosts', nextHosts);

  if (config.values.nameserver !== undefined || config.values.searchdomain !== undefined) {
    const lines = ['# Written by Corral from the container config (nameserver, searchdomain).'];
    if (config.values.searchdomain) lines.push(`search ${splitList(config.values.searchdomain).join(' ')}`);
    for (const ns of splitList(config.values.nameserver ?? '')) lines.push(`nameserver ${ns}`);
    await files.write('/etc/resolv.conf', `${lines.join('\n')}\n`);
  }

  const ifupdown = ostype !== undefined ? IFUPDOWN_OSTYPES.has(ostype) : await files.exists('/etc/network');
  if (ifupdown && config.nets.length > 0) {
    const text = interfacesFile(config);
    if ((await files.read('/etc/network/interfaces')) !== text) await files.write('/etc/network/interfaces', text);
  }
}

/**
 * Sets root's password hash in `/etc/shadow` (or `/etc/passwd` when the system has no shadow
 * file), SHA-512 crypt with a random salt.
 */
export async function setRootPassword(files: RootfsFiles, password: string): Promise<void> {
  const hash = sha512Crypt(password);
  const day = Math.floor(Date.now() / 86_400_000);
  const shadow = await files.read('/etc/shadow');
  if (shadow !== undefined) {
    let found = false;
    const lines = shadow.split('\n').map((line) => {
      const f = line.split(':');
      if (f[0] !== 'root') return line;
      found = true;
      f[1] = hash;
      f[2] = String(day);
      return f.join(':');
    });
    if (!found) lines.splice(0, 0, `root:${hash}:${day}:0:99999:7:::`);
    await files.write('/etc/shadow', lines.join('\n'));
    return;
  }
  const passwd = (await files.read('/etc/passwd')) ?? 'root:x:0:0:root:/root:/bin/sh\n';
  const lines = passwd.split('\n').map((line) => {
    const f = line.split(':');
    if (f[0] !== 'root') return line;
    f[1] = hash;
    return f.join(':');
  });
  await files.write('/etc/passwd', lines.join('\n'));
}

/** Writes `/root/.ssh/authorized_keys` (mode 0600 in a 0700 directory, owned by the container's root). */
export async function setRootSshKeys(files: RootfsFiles, keys: string): Promise<void> {
  await files.mkdir('/root', 0o700);
  await files.mkdir('/root/.ssh', 0o700);
  const text = keys.endsWith('\n') ? keys : `${keys}\n`;
  await files.write('/root/.ssh/authorized_keys', text, { mode: 0o600, uid: files.owner.uid, gid: files.owner.gid });
}

/**
 * Guesses the `ostype` of a rootfs as pve-container's `detect_distribution` does (from
 * `/etc/debian_version`, `/etc/alpine-release`, `/etc/os-release`...). `undefined` when
 * nothing matches.
 */
export async function detectOstype(files: RootfsFiles): Promise<string | undefined> {
  const osRelease = (await files.read('/etc/os-release')) ?? (await files.read('/usr/lib/os-release'));
  const id = osRelease ? /^ID="?([^"\n]+)"?$/m.exec(osRelease)?.[1] : undefined;
  const known: Record<string, string> = {
    debian: 'debian', ubuntu: 'ubuntu', devuan: 'devuan', alpine: 'alpine', centos: 'centos', rocky: 'centos', almalinux: 'centos',
    fedora: 'fedora', opensuse: 'opensuse', 'opensuse-leap': 'opensuse', 'opensuse-tumbleweed': 'opensuse', arch: 'archlinux',
    archlinux: 'archlinux', gentoo: 'gentoo', nixos: 'nixos',
  };
  if (id && known[id]) return known[id];
  if (await files.exists('/etc/alpine-release')) return 'alpine';
  if (await files.exists('/etc/debian_version')) return 'debian';
  return undefined;
}
