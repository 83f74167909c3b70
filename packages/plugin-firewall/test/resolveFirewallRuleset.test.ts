import test from 'ava';
import { InvalidConfigError } from '@corral/core';
import { parseFwFile } from '../src/fw/parseFwFile.js';
import { compileRuleset } from '../src/nft/compileRuleset.js';
import { macToLinkLocal, resolveFirewallRuleset, type FirewallResolveInput } from '../src/resolve/resolveFirewallRuleset.js';

const CLUSTER = `[OPTIONS]
enable: 1
policy_in: DROP

[ALIASES]
office 192.0.2.0/24

[IPSET trusted]
dc/office
!192.0.2.66
10.0.0.5

[IPSET management]
10.10.0.0/24

[group web]
IN HTTP(ACCEPT)
IN ACCEPT -p tcp -dport 443 -source office

[RULES]
IN SSH(ACCEPT) -source +trusted
`;

const HOST = `[OPTIONS]
log_level_in: info

[RULES]
IN DROP -p tcp -dport 25
`;

const GUEST = `[OPTIONS]
enable: 1
ipfilter: 1
policy_in: REJECT
log_level_in: warning

[ALIASES]
office 198.51.100.0/24

[IPSET ipfilter-net0]
198.51.100.7

[RULES]
GROUP web -i net0
IN Ping(ACCEPT)
IN ACCEPT -source office -p udp -dport 53
OUT DROP -dest +dc/trusted -p tcp -dport 22
|IN ACCEPT -p tcp -dport 8080
`;

const MAC = 'BC:24:11:2A:3B:4C';

function input(): FirewallResolveInput {
  const cluster = parseFwFile(CLUSTER, { kind: 'cluster', fileName: 'cluster.fw' });
  return {
    cluster,
    host: parseFwFile(HOST, { kind: 'host', fileName: 'host.fw', cluster }),
    guests: [
      {
        vmid: 100,
        document: parseFwFile(GUEST, { kind: 'vm', fileName: '100.fw', cluster }),
        nics: [
          { key: 'net0', port: 'tap100i0', mac: MAC, firewall: true },
          { key: 'net1', port: 'tap100i1', firewall: false },
        ],
      },
      { vmid: 101, nics: [{ key: 'net0', port: 'tap101i0', firewall: true }] },
    ],
    now: 1_700_000_000,
  };
}

test('macToLinkLocal builds the EUI-64 address as Proxmox does', (t) => {
  t.is(macToLinkLocal('BC:24:11:2A:3B:4C'), 'fe80::be24:11ff:fe2a:3b4c');
});

test('cluster, host and guest files resolve into one rule set: macros, aliases by scope, ipsets, groups, options', (t) => {
  const rs = resolveFirewallRuleset(input());
  t.true(rs.enabled);
  t.is(rs.policyIn, 'DROP');
  t.is(rs.policyOut, 'ACCEPT');
  t.is(rs.logLevelIn, 'info');
  t.true(rs.ndp, 'host ndp is on by default');
  t.deepEqual(rs.ipsets.trusted, ['192.0.2.0/24', '!192.0.2.66', '10.0.0.5'], 'an alias entry resolves to its address');
  t.deepEqual(rs.ipsets['guest/100/ipfilter-net0'], ['198.51.100.7']);
  t.deepEqual(rs.groups.web, [
    { direction: 'in', action: 'ACCEPT', enabled: true, proto: 'tcp', dport: '80' },
    { direction: 'in', action: 'ACCEPT', enabled: true, proto: 'tcp', dport: '443', source: '192.0.2.0/24' },
  ]);
  const host = rs.hostRules.map((r) => `${r.direction} ${r.action} ${r.proto ?? ''} ${r.dport ?? ''} ${r.source ?? ''}`.trim());
  t.deepEqual(host, [
    'in ACCEPT igmp',
    'in DROP tcp 25',
    'in ACCEPT tcp 22 +trusted',
    'in ACCEPT tcp 8006 +management',
    'in ACCEPT tcp 5900:5999 +management',
    'in ACCEPT tcp 3128 +management',
    'in ACCEPT tcp 22 +management',
    'in ACCEPT tcp 60000:60050 +management',
  ]);
  t.is(rs.guests.length, 1, 'a guest without a .fw file is not filtered');
  const g = rs.guests[0]!;
  t.true(g.enabled);
  t.is(g.policyIn, 'REJECT');
  t.is(g.policyOut, 'ACCEPT');
  t.is(g.logLevelIn, 'warning');
  t.deepEqual(g.ports, ['tap100i0'], 'only firewall=1 NICs');
  t.is(g.nics?.[0]?.mac, MAC, 'macfilter is on by default');
  t.deepEqual(g.nics?.[0]?.ipfilter, ['198.51.100.7', 'fe80:0:0:0:be24:11ff:fe2a:3b4c'], 'ipfilter: the ipset and the link-local address, other link-local addresses excepted');
  t.deepEqual(
    g.rules.map((r) => ({ ...r })),
    [
      { direction: 'in', action: 'web', enabled: true, group: true, iface: 'net0' },
      { direction: 'in', action: 'ACCEPT', enabled: true, proto: 'icmp', icmpType: 'echo-request', ipVersion: 4 },
      { direction: 'in', action: 'ACCEPT', enabled: true, proto: 'icmpv6', icmpType: 'echo-request', ipVersion: 6 },
      { direction: 'in', action: 'ACCEPT', enabled: true, source: '198.51.100.0/24', proto: 'udp', dport: '53' },
      { direction: 'out', action: 'DROP', enabled: true, dest: '+trusted', proto: 'tcp', dport: '22' },
      { direction: 'in', action: 'ACCEPT', enabled: false, proto: 'tcp', dport: '8080' },
    ],
    'the guest alias wins over the cluster one; +dc/ names the cluster ipset; Ping expands per IP version'
  );
});

test('the resolved rule set compiles', (t) => {
  const { commands } = compileRuleset(resolveFirewallRuleset(input()));
  const text = JSON.stringify(commands);
  t.true(text.includes('"name":"ipset-guest.100.ipfilter-net0-v4"'));
  t.true(text.includes('"target":"group-web-in"'));
});

test('options: a cluster enable time stamp holds for 60 s; a disabled host keeps no host rules', (t) => {
  const base = input();
  const stamped = (enable: number, now: number) =>
    resolveFirewallRuleset({ ...base, cluster: parseFwFile(CLUSTER.replace('enable: 1', `enable: ${enable}`), { kind: 'cluster', fileName: 'cluster.fw' }), now }).enabled;
  t.true(stamped(1_700_000_000, 1_700_000_030));
  t.false(stamped(1_700_000_000, 1_700_000_061));
  t.false(stamped(0, 1_700_000_000));
  const off = resolveFirewallRuleset({ ...base, host: parseFwFile('[OPTIONS]\nenable: 0\n', { kind: 'host', fileName: 'host.fw' }) });
  t.deepEqual(off.hostRules, []);
  t.is(off.policyIn, 'ACCEPT');
  const { cluster: _cluster, ...withoutCluster } = base;
  t.false(resolveFirewallRuleset(withoutCluster).enabled, 'no cluster.fw: off (and the guest file naming cluster ipsets does not matter)');
});

test('the management ipset comes from the local network when cluster.fw has none', (t) => {
  const cluster = parseFwFile(CLUSTER.replace('[IPSET management]\n10.10.0.0/24\n', ''), { kind: 'cluster', fileName: 'cluster.fw' });
  t.false('management' in resolveFirewallRuleset({ cluster, guests: [] }).ipsets);
  t.deepEqual(resolveFirewallRuleset({ cluster, guests: [], localNetwork: '10.20.0.0/16' }).ipsets.management, ['10.20.0.0/16']);
});

test('an unknown alias or ipset is refused naming the file and rule', (t) => {
  const cluster = parseFwFile(CLUSTER, { kind: 'cluster', fileName: 'cluster.fw' });
  // Parsed without the cluster, so the parser cannot check the cluster references.
  const doc = parseFwFile('[OPTIONS]\nenable: 1\n\n[RULES]\nIN ACCEPT -source nowhere\n', { kind: 'vm', fileName: '100.fw' });
  const err = t.throws(() => resolveFirewallRuleset({ cluster, guests: [{ vmid: 100, document: doc, nics: [] }] }), { instanceOf: InvalidConfigError });
  t.is((err as InvalidConfigError).key, '100.fw rule 1.source');
  t.regex(err!.message, /no such alias 'nowhere'/);
  const doc2 = parseFwFile('[RULES]\nIN ACCEPT -source +nothing\n', { kind: 'vm', fileName: '100.fw' });
  t.throws(() => resolveFirewallRuleset({ cluster, guests: [{ vmid: 100, document: doc2, nics: [] }] }), { message: /no such ipset 'nothing'/ });
});
