/**
 * Proxmox's `sdn/zones.cfg`, `sdn/vnets.cfg` and `sdn/subnets.cfg`: byte-exact round trips of
 * files in the shape Proxmox writes, and coded errors naming file, line and option.
 */
import test from 'ava';
import { CONFIG_LIMITS } from '@corral/core';
import { parseSubnetsCfg, parseVnetsCfg, parseZonesCfg, serializeSubnetsCfg, serializeVnetsCfg, serializeZonesCfg } from '../src/index.js';

// The zones of pve-network's test corpus (src/test/zones/{simple,vlan,vxlan}/*/sdn_config) as
// Proxmox's section config writes them.
const ZONES = `simple: mysimple
\tipam pve
\tmtu 1460

vlan: myvlan
\tbridge vmbr0
\tipam pve
\tmtu 9200

vxlan: myvxlan
\tpeers 192.168.0.1,192.168.0.2,192.168.0.3
\tipam pve
\tvxlan-port 6000

`;
const VNETS = `vnet: myvnet
\tzone myvxlan
\ttag 100

vnet: simple1
\tzone mysimple
\talias my simple vnet

`;
const SUBNETS = `subnet: mysimple-10.0.0.0-24
\tvnet simple1
\tdhcp-range start-address=10.0.0.100,end-address=10.0.0.150
\tdhcp-range start-address=10.0.0.200,end-address=10.0.0.250
\tgateway 10.0.0.1
\tsnat 1

subnet: mysimple-fd00:10::-64
\tvnet simple1
\tgateway fd00:10::1

`;

test('zones.cfg, vnets.cfg and subnets.cfg round-trip byte for byte', (t) => {
  const zones = parseZonesCfg(ZONES);
  t.deepEqual(
    zones.map((z) => [z.type, z.id]),
    [['simple', 'mysimple'], ['vlan', 'myvlan'], ['vxlan', 'myvxlan']],
  );
  t.is(zones[2]!.options.peers, '192.168.0.1,192.168.0.2,192.168.0.3');
  t.is(serializeZonesCfg(zones), ZONES);
  const vnets = parseVnetsCfg(VNETS);
  t.is(vnets[0]!.tag, 100);
  t.is(vnets[1]!.tag, undefined);
  t.is(serializeVnetsCfg(vnets), VNETS);
  const subnets = parseSubnetsCfg(SUBNETS);
  t.like(subnets[0], { zone: 'mysimple', cidr: '10.0.0.0/24', vnet: 'simple1', gateway: '10.0.0.1', snat: true });
  t.deepEqual(subnets[0]!.dhcpRanges, [
    { start: '10.0.0.100', end: '10.0.0.150' },
    { start: '10.0.0.200', end: '10.0.0.250' },
  ]);
  t.like(subnets[1], { zone: 'mysimple', cidr: 'fd00:10::/64', gateway: 'fd00:10::1', snat: false });
  t.is(serializeSubnetsCfg(subnets), SUBNETS);
});

test('a vnet changed in code is written with zone and tag at their places', (t) => {
  const [vnet] = parseVnetsCfg(VNETS);
  t.is(serializeVnetsCfg([{ ...vnet!, tag: 200 }]), 'vnet: myvnet\n\tzone myvxlan\n\ttag 200\n\n');
  t.is(serializeVnetsCfg([{ id: 'n1', zone: 'z1', options: { alias: 'x' } }]), 'vnet: n1\n\tzone z1\n\talias x\n\n');
});

const bad: Array<[string, (text: string) => unknown, string, RegExp]> = [
  ['unknown zone type', parseZonesCfg, 'faucet: z1\n\tipam pve\n', /sdn\/zones\.cfg:1: zone 'z1': unknown zone type 'faucet'/],
  ['option of another type', parseZonesCfg, 'simple: z1\n\tpeers 10.0.0.1\n', /zones\.cfg:2: zone 'z1': option 'peers' is not allowed for type 'simple'/],
  ['bad peer', parseZonesCfg, 'vxlan: z1\n\tipam pve\n\tpeers 10.0.0.1,nohost\n', /zones\.cfg:3: zone 'z1': option 'peers' 'nohost' is not an IP address/],
  ['bad vxlan-port', parseZonesCfg, 'vxlan: z1\n\tvxlan-port 70000\n', /zones\.cfg:2: .*option 'vxlan-port' must be an integer from 1 to 65536/],
  ['vlan zone without bridge', parseZonesCfg, 'vlan: z1\n\tmtu 1500\n', /zones\.cfg:1: zone 'z1': option 'bridge' is required/],
  ['zone id too long', parseZonesCfg, 'simple: zone12345\n', /zones\.cfg:1: invalid zone id 'zone12345'/],
  ['vnet without zone', parseVnetsCfg, 'vnet: v1\n\ttag 5\n', /vnets\.cfg:1: vnet 'v1': option 'zone' is required/],
  ['vnet tag out of range', parseVnetsCfg, 'vnet: v1\n\tzone z1\n\ttag 16777216\n', /vnets\.cfg:3: vnet 'v1': option 'tag' must be an integer from 1 to 16777215/],
  ['repeated vnet option', parseVnetsCfg, 'vnet: v1\n\tzone z1\n\tzone z2\n', /vnets\.cfg:3: section 'v1': duplicate option 'zone'/],
  ['subnet id without zone', parseSubnetsCfg, 'subnet: 10.0.0.0-24\n\tvnet v1\n', /subnets\.cfg:1: subnet '10\.0\.0\.0-24': invalid subnet id/],
  ['gateway outside', parseSubnetsCfg, 'subnet: z1-10.0.0.0-24\n\tvnet v1\n\tgateway 10.0.1.1\n', /subnets\.cfg:3: .*option 'gateway' 10\.0\.1\.1 is not in subnet 10\.0\.0\.0\/24/],
  ['range outside', parseSubnetsCfg, 'subnet: z1-10.0.0.0-24\n\tvnet v1\n\tdhcp-range start-address=10.0.0.5,end-address=10.0.1.9\n', /subnets\.cfg:3: .*end-address 10\.0\.1\.9 is not in subnet/],
  ['range reversed', parseSubnetsCfg, 'subnet: z1-10.0.0.0-24\n\tvnet v1\n\tdhcp-range start-address=10.0.0.9,end-address=10.0.0.5\n', /must not be after end-address/],
  ['ranges overlap', parseSubnetsCfg, 'subnet: z1-10.0.0.0-24\n\tvnet v1\n\tdhcp-range start-address=10.0.0.1,end-address=10.0.0.9\n\tdhcp-range start-address=10.0.0.9,end-address=10.0.0.20\n', /overlaps another range/],
  ['range with unknown key', parseSubnetsCfg, 'subnet: z1-10.0.0.0-24\n\tvnet v1\n\tdhcp-range start=10.0.0.1,end-address=10.0.0.9\n', /subnets\.cfg:3: .*unknown key 'start'/],
];
for (const [title, parse, text, message] of bad) {
  test(`refused with a ParseError naming file, line and option: ${title}`, (t) => {
    const error = t.throws(() => parse(text), { code: 'CORRAL_ERR_PARSE' });
    t.regex(error!.message, message);
  });
}

test('parsing is bounded: a file past the size limit is refused before it is read', (t) => {
  const huge = `simple: z1\n${'\tipam pve\n'.repeat(CONFIG_LIMITS.fileBytes / 8)}`;
  t.throws(() => parseZonesCfg(huge), { code: 'CORRAL_ERR_PARSE', message: /zones\.cfg/ });
});

test('writing refuses zones that would not read back', (t) => {
  t.throws(() => serializeZonesCfg([{ id: 'z1', type: 'vxlan', options: { peers: 'nohost' } }]), { code: 'CORRAL_ERR_PARSE', message: /option 'peers'/ });
  t.throws(() => serializeZonesCfg([{ id: 'z1', type: 'simple', options: { ipam: ' pve' } }]), { code: 'CORRAL_ERR_INVALID_CONFIG' });
});
