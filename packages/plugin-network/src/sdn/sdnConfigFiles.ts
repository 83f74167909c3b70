/**
 * Proxmox's SDN config files, `sdn/zones.cfg`, `sdn/vnets.cfg` and `sdn/subnets.cfg`, in the
 * section-config format (core's `readSectionConfig` / `serializeSectionConfig`):
 *
 * ```text
 * vxlan: myzone
 * \tpeers 192.168.0.1,192.168.0.2
 * \tipam pve
 *
 * vnet: myvnet
 * \tzone myzone
 * \ttag 100
 *
 * subnet: myzone-10.0.0.0-24
 * \tvnet myvnet
 * \tdhcp-range start-address=10.0.0.100,end-address=10.0.0.200
 * \tgateway 10.0.0.1
 * ```
 *
 * Parsing is bounded by core's `CONFIG_LIMITS` (file size, line length, value length) and
 * checks every option against the option lists of Proxmox's zone, vnet and subnet plugins;
 * errors are `ParseError`s naming the file, the line and the option. A file Proxmox wrote
 * (tab indentation, no comments) is written back byte for byte.
 *
 * @packageDocumentation
 */
import { isIPv4, isIPv6 } from 'node:net';
import {
  parsePropertyString,
  ParseError,
  readSectionConfig,
  serializeSectionConfig,
  splitList,
  type ConfigSection,
  type NetworkZoneDefinition,
  type SectionPosition,
  type VnetDefinition,
} from '@corral/core';
import { inNetwork, parseCidr, parseIp } from './ipAddress.js';

/** One DHCP range of a subnet (`dhcp-range start-address=...,end-address=...`). */
export interface DhcpRange {
  readonly start: string;
  readonly end: string;
}

/** A subnet of `sdn/subnets.cfg`. */
export interface SdnSubnet {
  /** Section id as Proxmox writes it: `<zone>-<address>-<prefix>` (`myzone-10.0.0.0-24`). */
  readonly id: string;
  /** The zone named in the id. */
  readonly zone: string;
  /** The network (`10.0.0.0/24`). */
  readonly cidr: string;
  readonly vnet: string;
  readonly gateway?: string;
  /** Proxmox's `snat` (masquerade traffic leaving the subnet). */
  readonly snat: boolean;
  /** In file order. */
  readonly dhcpRanges: readonly DhcpRange[];
  readonly dhcpDnsServer?: string;
  /** Every option as written (`dhcp-range` items joined with `\n`). */
  readonly options: Readonly<Record<string, string>>;
}

/** The three SDN files of a cluster, parsed. */
export interface SdnConfig {
  readonly zones: readonly NetworkZoneDefinition[];
  readonly vnets: readonly VnetDefinition[];
  readonly subnets: readonly SdnSubnet[];
}

/** Zone types Proxmox defines that Corral knows the options of. */
export const SDN_ZONE_TYPES = ['simple', 'vlan', 'qinq', 'vxlan', 'evpn'] as const;

const ZONE_COMMON = ['nodes', 'ipam', 'dns', 'reversedns', 'dnszone', 'mtu'];
/** Options each zone type allows (Proxmox's `options()` of each zone plugin). */
const ZONE_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  simple: [...ZONE_COMMON, 'dhcp'],
  vlan: [...ZONE_COMMON, 'bridge', 'bridge-disable-mac-learning'],
  qinq: [...ZONE_COMMON, 'bridge', 'tag', 'vlan-protocol', 'bridge-disable-mac-learning'],
  vxlan: [...ZONE_COMMON, 'peers', 'vxlan-port', 'fabric'],
  evpn: [
    ...ZONE_COMMON,
    'vrf-vxlan',
    'controller',
    'exitnodes',
    'exitnodes-local-routing',
    'exitnodes-primary',
    'advertise-subnets',
    'disable-arp-nd-suppression',
    'bridge-disable-mac-learning',
    'rt-import',
    'vxlan-port',
    'mac',
    'dhcp',
  ],
};
const VNET_OPTIONS = ['zone', 'tag', 'alias', 'vlanaware', 'isolate-ports'];
const SUBNET_OPTIONS = ['vnet', 'gateway', 'snat', 'dnszoneprefix', 'dhcp-range', 'dhcp-dns-server'];
/** Zone and vnet ids (`pve-sdn-zone-id`, `pve-sdn-vnet-id`): a letter, then letters or digits, at most 8. */
const SDN_ID_RE = /^[a-z][a-z0-9]{0,6}[a-z0-9]$/;
/** Most DHCP ranges one subnet may list. */
export const MAX_DHCP_RANGES = 256;

type Check = (value: string) => string | undefined;
const integer =
  (min: number, max: number): Check =>
  (v) =>
    /^\d{1,9}$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be an integer from ${min} to ${max}`;
const boolean: Check = (v) => (v === '0' || v === '1' ? undefined : "must be '0' or '1'");
const ip: Check = (v) => (isIPv4(v) || isIPv6(v) ? undefined : 'is not an IP address');
const ipList: Check = (v) => {
  const items = splitList(v);
  if (items.length === 0) return 'is an empty list';
  const bad = items.find((item) => !isIPv4(item) && !isIPv6(item));
  return bad === undefined ? undefined : `'${bad}' is not an IP address`;
};
const ifname: Check = (v) => (/^[A-Za-z0-9_.-]{1,15}$/.test(v) ? undefined : 'is not an interface name (1 to 15 of A-Z a-z 0-9 _ . -)');

/** Value checks by option key (keys not listed take any text core accepts). */
const CHECKS: Readonly<Record<string, Check>> = {
  mtu: integer(68, 65535),
  'vxlan-port': integer(1, 65536),
  peers: ipList,
  bridge: ifname,
  'bridge-disable-mac-learning': boolean,
  'vlan-protocol': (v) => (v === '802.1q' || v === '802.1ad' ? undefined : "must be '802.1q' or '802.1ad'"),
  'vrf-vxlan': integer(1, 16777215),
  'advertise-subnets': boolean,
  'disable-arp-nd-suppression': boolean,
  'exitnodes-local-routing': boolean,
  vlanaware: boolean,
  'isolate-ports': boolean,
  snat: boolean,
  gateway: ip,
  'dhcp-dns-server': ip,
  alias: (v) => (v.length <= 256 ? undefined : 'is longer than 256 characters'),
};

/** Reads a file with core's section-config reader, refusing any part it could not read. */
function readSections(text: string, source: string, repeatableKeys: readonly string[] = []) {
  const content = readSectionConfig(text, { source, repeatableKeys });
  if (content.invalid.length > 0) throw content.invalid[0]!.error;
  return content;
}

/** Checks a section's keys and values; `ParseError` naming the line and the option. */
function checkOptions(source: string, what: string, section: ConfigSection, position: SectionPosition, allowed: readonly string[], required: readonly string[]): void {
  for (const [key, value] of Object.entries(section.options)) {
    const line = position.options[key] ?? position.line;
    if (!allowed.includes(key)) {
      throw new ParseError(source, `${what} '${section.id}': option '${key}' is not allowed for type '${section.type}' (allowed: ${allowed.join(', ')})`, line);
    }
    const problem = CHECKS[key]?.(value);
    if (problem) throw new ParseError(source, `${what} '${section.id}': option '${key}' ${problem} (value '${value}')`, line);
  }
  for (const key of required) {
    if (!Object.hasOwn(section.options, key)) throw new ParseError(source, `${what} '${section.id}': option '${key}' is required`, position.line);
  }
}

/**
 * Parses `sdn/zones.cfg`.
 *
 * @param source - File name named in errors. Default `sdn/zones.cfg`.
 * @returns The zones in file order; `options` holds every option as written.
 * @throws ParseError naming the line: text core's section-config reader refuses, a zone id
 *   that is not Proxmox's (a letter, then letters or digits, at most 8), a type other than
 *   {@link SDN_ZONE_TYPES}, an option the type does not have, a bad value (`mtu`, `peers`,
 *   `vxlan-port`, `bridge`...).
 */
export function parseZonesCfg(text: string, source = 'sdn/zones.cfg'): NetworkZoneDefinition[] {
  const { sections, positions } = readSections(text, source);
  return sections.map((section) => {
    const position = positions.get(section)!;
    const allowed = ZONE_OPTIONS[section.type];
    if (!allowed) throw new ParseError(source, `zone '${section.id}': unknown zone type '${section.type}' (known: ${SDN_ZONE_TYPES.join(', ')})`, position.line);
    if (!SDN_ID_RE.test(section.id)) throw new ParseError(source, `invalid zone id '${section.id}' (a letter, then letters or digits, at most 8)`, position.line);
    checkOptions(source, 'zone', section, position, allowed, section.type === 'vlan' || section.type === 'qinq' ? ['bridge'] : []);
    return { id: section.id, type: section.type, options: section.options };
  });
}

/**
 * Parses `sdn/vnets.cfg` (sections of type `vnet`).
 *
 * @returns The vnets in file order, `tag` as a number; `options` holds every option as written.
 * @throws ParseError naming the line: a type other than `vnet`, a bad vnet id, an unknown
 *   option, a missing `zone`, a `tag` outside 1..16777215, a bad `vlanaware`/`isolate-ports`.
 */
export function parseVnetsCfg(text: string, source = 'sdn/vnets.cfg'): VnetDefinition[] {
  const { sections, positions } = readSections(text, source);
  return sections.map((section) => {
    const position = positions.get(section)!;
    if (section.type !== 'vnet') throw new ParseError(source, `section '${section.id}': type must be 'vnet', got '${section.type}'`, position.line);
    if (!SDN_ID_RE.test(section.id)) throw new ParseError(source, `invalid vnet id '${section.id}' (a letter, then letters or digits, at most 8)`, position.line);
    checkOptions(source, 'vnet', section, position, VNET_OPTIONS, ['zone']);
    const tag = section.options.tag;
    if (tag !== undefined) {
      const problem = integer(1, 16777215)(tag);
      if (problem) throw new ParseError(source, `vnet '${section.id}': option 'tag' ${problem} (value '${tag}')`, position.options.tag);
    }
    return { id: section.id, zone: section.options.zone!, ...(tag === undefined ? {} : { tag: Number(tag) }), options: section.options };
  });
}

/**
 * Parses `sdn/subnets.cfg` (sections of type `subnet`, id `<zone>-<address>-<prefix>`).
 *
 * @returns The subnets in file order with their DHCP ranges.
 * @throws ParseError naming the line and option: a type other than `subnet`, an id that is not
 *   a zone and a CIDR, an unknown option, a missing `vnet`, a `gateway` or DHCP range address
 *   outside the subnet, a range whose start is after its end or that overlaps another, more
 *   than {@link MAX_DHCP_RANGES} ranges.
 */
export function parseSubnetsCfg(text: string, source = 'sdn/subnets.cfg'): SdnSubnet[] {
  const { sections, positions } = readSections(text, source, ['dhcp-range']);
  return sections.map((section) => {
    const position = positions.get(section)!;
    const fail = (message: string, key?: string): never => {
      throw new ParseError(source, `subnet '${section.id}': ${message}`, (key && position.options[key]) || position.line);
    };
    if (section.type !== 'subnet') fail(`type must be 'subnet', got '${section.type}'`);
    const parts = /^([a-z][a-z0-9]{0,6}[a-z0-9])-([0-9a-fA-F:.]+)-(\d{1,3})$/.exec(section.id);
    const network = parts && parseCidr(`${parts[2]}/${parts[3]}`);
    if (!parts || !network) return fail("invalid subnet id (expected '<zone>-<address>-<prefix>', e.g. 'myzone-10.0.0.0-24')");
    checkOptions(source, 'subnet', section, position, SUBNET_OPTIONS, ['vnet']);
    const cidr = `${parts[2]}/${parts[3]}`;
    const { gateway } = section.options;
    if (gateway !== undefined && !inNetwork(network, parseIp(gateway)!)) fail(`option 'gateway' ${gateway} is not in subnet ${cidr}`, 'gateway');
    const items = section.options['dhcp-range']?.split('\n') ?? [];
    if (items.length > MAX_DHCP_RANGES) fail(`option 'dhcp-range' is given ${items.length} times (at most ${MAX_DHCP_RANGES})`, 'dhcp-range');
    const ranges: { start: string; end: string; from: bigint; to: bigint }[] = [];
    for (const item of items) {
      let record: Record<string, string>;
      try {
        record = parsePropertyString(item, { name: 'dhcp-range', keys: ['start-address', 'end-address'] }, { key: 'dhcp-range' });
      } catch (error) {
        return fail(`option 'dhcp-range': ${(error as Error).message}`, 'dhcp-range');
      }
      const start = record['start-address'];
      const end = record['end-address'];
      if (start === undefined || end === undefined) return fail(`option 'dhcp-range' needs start-address and end-address (value '${item}')`, 'dhcp-range');
      const from = parseIp(start);
      const to = parseIp(end);
      if (!from || !inNetwork(network, from)) fail(`option 'dhcp-range': start-address ${start} is not in subnet ${cidr}`, 'dhcp-range');
      if (!to || !inNetwork(network, to)) fail(`option 'dhcp-range': end-address ${end} is not in subnet ${cidr}`, 'dhcp-range');
      if (from!.value > to!.value) fail(`option 'dhcp-range': start-address ${start} must not be after end-address ${end}`, 'dhcp-range');
      if (ranges.some((r) => from!.value <= r.to && to!.value >= r.from)) fail(`option 'dhcp-range': ${start}-${end} overlaps another range`, 'dhcp-range');
      ranges.push({ start, end, from: from!.value, to: to!.value });
    }
    return {
      id: section.id,
      zone: parts[1]!,
      cidr,
      vnet: section.options.vnet!,
      ...(gateway === undefined ? {} : { gateway }),
      snat: section.options.snat === '1',
      dhcpRanges: ranges.map(({ start, end }) => ({ start, end })),
      ...(section.options['dhcp-dns-server'] === undefined ? {} : { dhcpDnsServer: section.options['dhcp-dns-server'] }),
      options: section.options,
    };
  });
}

/** Writes sections, then checks that they read back (so a written file is always readable). */
function writeChecked<T>(sections: ConfigSection[], parse: (text: string) => T, repeatableKeys?: readonly string[]): string {
  const text = serializeSectionConfig(sections, repeatableKeys ? { repeatableKeys } : {});
  parse(text);
  return text;
}

/**
 * Writes `sdn/zones.cfg`: one `type: id` section per zone with its `options` in their order.
 *
 * @throws InvalidConfigError from core's writer, or ParseError (source `sdn/zones.cfg`) when
 *   the result would not parse (unknown type or option, bad value).
 */
export function serializeZonesCfg(zones: readonly NetworkZoneDefinition[]): string {
  return writeChecked(
    zones.map((z) => ({ type: z.type, id: z.id, options: { ...z.options } })),
    (text) => parseZonesCfg(text),
  );
}

/**
 * Writes `sdn/vnets.cfg`. `zone` and `tag` come from the typed fields (kept at their position
 * in `options` when present there, else written first); the other options from `options`.
 *
 * @throws as {@link serializeZonesCfg}, with source `sdn/vnets.cfg`.
 */
export function serializeVnetsCfg(vnets: readonly VnetDefinition[]): string {
  return writeChecked(
    vnets.map((v) => {
      const options: Record<string, string> = { zone: v.zone, ...(v.tag === undefined ? {} : { tag: String(v.tag) }) };
      const ordered = Object.hasOwn(v.options, 'zone') ? { ...v.options, ...options } : { ...options, ...v.options, ...options };
      if (v.tag === undefined) delete ordered.tag;
      return { type: 'vnet', id: v.id, options: ordered };
    }),
    (text) => parseVnetsCfg(text),
  );
}

/**
 * Writes `sdn/subnets.cfg` from each subnet's `options` (with `vnet` from the typed field;
 * `dhcp-range` items joined with `\n` are written one line each).
 *
 * @throws as {@link serializeZonesCfg}, with source `sdn/subnets.cfg`.
 */
export function serializeSubnetsCfg(subnets: readonly SdnSubnet[]): string {
  return writeChecked(
    subnets.map((s) => ({ type: 'subnet', id: s.id, options: { ...s.options, vnet: s.vnet } })),
    (text) => parseSubnetsCfg(text),
    ['dhcp-range'],
  );
}
