import test from 'ava';
import { extensionPoints, InvalidConfigError, type FirewallRuleset } from '@corral/core';
import { createTestKernel } from '@corral/core/testing';
import { guest, rule, ruleset } from './support/rulesetBuilders.js';
import { compileRuleset, firewallPlugin, formatAddress, ipsetRanges, NftablesBackend, rangeExpression } from '../src/index.js';

const show = (entries: string[]): string[] => {
  const r = ipsetRanges(entries, 'ipset t');
  return [...r.v4, ...r.v6].map((x) => JSON.stringify(rangeExpression(x)));
};

const ipsetCases: Array<{ description: string; entries: string[]; expected: string[] }> = [
  { description: 'one address', entries: ['10.0.0.1'], expected: ['"10.0.0.1"'] },
  { description: 'a CIDR stays a prefix', entries: ['10.0.0.0/8'], expected: ['{"prefix":{"addr":"10.0.0.0","len":8}}'] },
  { description: 'adjacent entries merge', entries: ['10.0.0.0/25', '10.0.0.128/25'], expected: ['{"prefix":{"addr":"10.0.0.0","len":24}}'] },
  { description: 'nomatch cuts a hole', entries: ['10.0.0.0/24', '!10.0.0.5'], expected: ['{"range":["10.0.0.0","10.0.0.4"]}', '{"range":["10.0.0.6","10.0.0.255"]}'] },
  {
    description: 'the most specific entry decides, whatever the order',
    entries: ['10.1.2.0/24', '!10.1.0.0/16', '10.0.0.0/8'],
    expected: ['{"prefix":{"addr":"10.0.0.0","len":16}}', '{"prefix":{"addr":"10.1.2.0","len":24}}', '{"range":["10.2.0.0","10.255.255.255"]}'],
  },
  { description: 'a nomatch entry alone matches nothing', entries: ['!10.0.0.1'], expected: [] },
  { description: 'a range', entries: ['192.0.2.10-192.0.2.20'], expected: ['{"range":["192.0.2.10","192.0.2.20"]}'] },
  { description: 'IPv6 with a hole', entries: ['fd00::/64', '!fd00::1'], expected: ['"fd00:0:0:0:0:0:0:0"', '{"range":["fd00:0:0:0:0:0:0:2","fd00:0:0:0:ffff:ffff:ffff:ffff"]}'] },
];
for (const c of ipsetCases) {
  test(`ipset ranges: ${c.description}`, (t) => {
    t.deepEqual(show(c.entries), c.expected);
  });
}

test('formatAddress writes IPv4 dotted and IPv6 uncompressed', (t) => {
  t.is(formatAddress(0x0a000001n, 4), '10.0.0.1');
  t.is(formatAddress(1n, 6), '0:0:0:0:0:0:0:1');
});

const errorCases: Array<{ description: string; input: FirewallRuleset; key: string; message: RegExp }> = [
  { description: 'unknown action', input: ruleset([], { guests: [guest(100, [rule('in', 'ALLOW')])] }), key: 'guest 100 rule 1.action', message: /not ACCEPT, DROP or REJECT/ },
  {
    description: 'unknown ipset',
    input: ruleset([], { guests: [guest(100, [rule('in', 'ACCEPT', { source: '+nope' })])] }),
    key: 'guest 100 rule 1.source',
    message: /ipset 'nope' is not defined/,
  },
  {
    description: 'unknown alias',
    input: ruleset([], { guests: [guest(100, [rule('in', 'ACCEPT', { dest: 'web' })])] }),
    key: 'guest 100 rule 1.dest',
    message: /neither an address nor a defined alias/,
  },
  { description: 'host bits in a CIDR', input: ruleset([], { hostRules: [rule('in', 'ACCEPT', { source: '10.0.0.1/8' })] }), key: 'host rule 1.source', message: /host bits/ },
  {
    description: 'ports without a port protocol',
    input: ruleset([], { hostRules: [rule('in', 'ACCEPT', { dport: '22' })] }),
    key: 'host rule 1.proto',
    message: /ports need proto/,
  },
  { description: 'bad port', input: ruleset([], { hostRules: [rule('in', 'ACCEPT', { proto: 'tcp', dport: '70000' })] }), key: 'host rule 1.dport', message: /not a port/ },
  { description: 'unexpanded macro', input: ruleset([], { hostRules: [rule('in', 'ACCEPT', { macro: 'SSH' })] }), key: 'host rule 1.macro', message: /must be expanded/ },
  {
    description: 'unknown group',
    input: ruleset([], { guests: [guest(100, [rule('in', 'web', { group: true })])] }),
    key: 'guest 100 rule 1.action',
    message: /security group 'web' is not defined/,
  },
  {
    description: 'unknown NIC',
    input: ruleset([], { guests: [guest(100, [rule('in', 'ACCEPT', { iface: 'net3' })])] }),
    key: 'guest 100 rule 1.iface',
    message: /no firewalled NIC 'net3'/,
  },
  {
    description: 'port name too long',
    input: ruleset([], { guests: [guest(100, [], { ports: ['tap100i0-far-too-long'] })] }),
    key: 'guest 100.tap100i0-far-too-long',
    message: /not an interface name/,
  },
  {
    description: 'bad MAC',
    input: ruleset([], { guests: [guest(100, [], { nics: [{ iface: 'net0', port: 'tap100i0', mac: 'nope' }] })] }),
    key: 'guest 100.net0.mac',
    message: /not a MAC/,
  },
  { description: 'guest forward rule', input: ruleset([], { guests: [guest(100, [rule('forward', 'ACCEPT')])] }), key: 'guest 100 rule 1.direction', message: /no forward rules/ },
  {
    description: 'icmp type without icmp',
    input: ruleset([], { hostRules: [rule('in', 'ACCEPT', { proto: 'tcp', icmpType: 'echo-request' })] }),
    key: 'host rule 1.icmpType',
    message: /needs proto icmp/,
  },
  { description: 'a port on two NICs', input: ruleset([], { guests: [guest(100, []), guest(101, [], { ports: ['tap100i0'] })] }), key: 'guest 101', message: /more than one NIC/ },
];
for (const c of errorCases) {
  test(`compile refuses: ${c.description}`, (t) => {
    const err = t.throws(() => compileRuleset(c.input), { instanceOf: InvalidConfigError });
    t.is((err as InvalidConfigError).key, c.key);
    t.regex(err!.message, c.message);
  });
}

test('lists expand into one rule per combination, never an anonymous set', (t) => {
  const rs = ruleset([], {
    aliases: { web: '192.0.2.80' },
    guests: [guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', source: '10.0.0.1,web,fd00::1', dport: '80,443:444' })], { dhcp: false, ndp: false })],
  });
  const doc = compileRuleset(rs).commands;
  const rules = doc.flatMap((c) => ('add' in c && 'rule' in c.add && c.add.rule.chain === 'guest-100-in' ? [c.add.rule] : []));
  t.is(rules.length, 3 * 2 + 1, 'three sources times two port specs, plus the policy');
  t.false(JSON.stringify(doc).includes('"set":['), 'no anonymous set');
  t.true(JSON.stringify(rules).includes('"192.0.2.80"'), 'the alias is resolved');
});

test('ipset rules look up the named set of each family the ipset has', (t) => {
  const rs = ruleset([], {
    ipsets: { mgmt: ['10.0.0.0/24', 'fd00::/64'], v4only: ['10.1.0.1'] },
    hostRules: [rule('in', 'ACCEPT', { source: '+mgmt' }), rule('in', 'ACCEPT', { source: '+v4only' })],
  });
  const text = JSON.stringify(compileRuleset(rs).commands);
  t.true(text.includes('"right":"@ipset-mgmt-v4"'));
  t.true(text.includes('"right":"@ipset-mgmt-v6"'));
  t.true(text.includes('"right":"@ipset-v4only-v4"'));
  t.false(text.includes('"right":"@ipset-v4only-v6"'), 'no IPv6 rule for an ipset without IPv6 entries');
});

test('logging goes to nflog with the level in the prefix', (t) => {
  const rs = ruleset([], { logGroup: 5, guests: [guest(100, [rule('in', 'ACCEPT', { proto: 'icmp', log: 'warning' })], { logLevelIn: 'info' })] });
  const text = JSON.stringify(compileRuleset(rs).commands);
  t.true(text.includes('{"log":{"prefix":":100:4:guest-100-in: ACCEPT: ","group":5}}'));
  t.true(text.includes('{"log":{"prefix":":100:6:guest-100-in: policy DROP: ","group":5}}'));
});

const chainRules = (rs: FirewallRuleset, chain: string): string[] =>
  compileRuleset(rs).commands.flatMap((c) => ('add' in c && 'rule' in c.add && c.add.rule.chain === chain ? [JSON.stringify(c.add.rule.expr)] : []));

test('guest options put DHCP, router advertisement and neighbor discovery rules first, as Proxmox does', (t) => {
  const defaults = ruleset([guest(100, [])]);
  const out = chainRules(defaults, 'guest-100-out');
  t.is(out.length, 2 + 1 + 3 + 1, 'dhcp v4/v6, RA drop, RS/NS/NA accept, policy');
  t.regex(out[0]!, /"nfproto"\}\},"right":"ipv4".*"sport"\}\},"right":68.*"dport"\}\},"right":67.*"accept"/);
  t.regex(out[2]!, /"nd-router-advert"\}\},\{"drop":null\}/);
  const inRules = chainRules(defaults, 'guest-100-in');
  t.is(inRules.length, 2 + 4 + 1, 'dhcp v4/v6, RS/RA/NS/NA accept, policy');
  t.regex(inRules[0]!, /"sport"\}\},"right":67.*"dport"\}\},"right":68/);
  const off = ruleset([guest(100, [], { dhcp: false, ndp: false, radv: true })]);
  t.is(chainRules(off, 'guest-100-out').length, 1, 'only the policy');
  t.is(chainRules(off, 'guest-100-in').length, 1);
});

test('the host chains accept neighbor discovery unless ndp is off', (t) => {
  t.is(chainRules(ruleset(), 'input').filter((r) => r.includes('"nd-')).length, 4);
  t.is(chainRules(ruleset(), 'output').filter((r) => r.includes('"nd-')).length, 3, 'no router advertisements from the host');
  t.is(chainRules(ruleset([], { ndp: false }), 'input').filter((r) => r.includes('"nd-')).length, 0);
});

test('allowInvalid leaves out every conntrack-invalid drop', (t) => {
  const count = (rs: FirewallRuleset): number => JSON.stringify(compileRuleset(rs).commands).split('"right":"invalid"').length - 1;
  t.is(count(ruleset()), 4, 'prerouting, forward, input, output');
  t.is(count(ruleset([], { allowInvalid: true })), 0);
});

test('port ids are kept when given and new ports get the lowest free ones', (t) => {
  const rs = ruleset([], { guests: [guest(100, []), guest(101, []), guest(102, [])] });
  const { portIds } = compileRuleset(rs, { portIds: new Map([['tap101i0', 1]]) });
  t.deepEqual([...portIds.entries()].sort(), [
    ['tap100i0', 2],
    ['tap101i0', 1],
    ['tap102i0', 3],
  ]);
});

test('a disabled rule set compiles to removing both tables only', (t) => {
  const doc = JSON.parse(new NftablesBackend().compile(ruleset([], { enabled: false, guests: [guest(100, [])] }))) as { nftables: unknown[] };
  t.deepEqual(doc.nftables, [
    { add: { table: { family: 'inet', name: 'corral' } } },
    { delete: { table: { family: 'inet', name: 'corral' } } },
    { add: { table: { family: 'bridge', name: 'corral' } } },
    { delete: { table: { family: 'bridge', name: 'corral' } } },
  ]);
});

test('the plugin registers the nftables backend', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [firewallPlugin] });
  const backend = kernel.extensions(extensionPoints.firewallBackends).get('nftables');
  t.true(backend instanceof NftablesBackend);
  t.is(typeof backend?.applyGuest, 'function');
});

test('ipVersion restricts a rule to one family; service names pass to nft; guest-scoped ipsets get their own sets', (t) => {
  const rs = ruleset(
    [
      guest(
        100,
        [
          rule('in', 'ACCEPT', { proto: 'udp', dport: '546:547', ipVersion: 6 }),
          rule('in', 'ACCEPT', { proto: 'icmpv6', icmpType: 'echo-request', ipVersion: 4 }),
          rule('in', 'ACCEPT', { proto: 'tcp', dport: 'ssh', source: '+guest/100/peers' }),
        ],
        { dhcp: false, ndp: false }
      ),
    ],
    {
      ipsets: { 'guest/100/peers': ['10.0.0.1'] },
    }
  );
  const rules = chainRules(rs, 'guest-100-in');
  t.is(rules.length, 3, 'the IPv4-only ICMPv6 rule compiles to nothing');
  t.true(rules[0]!.startsWith('[{"match":{"op":"==","left":{"meta":{"key":"nfproto"}},"right":"ipv6"}}'));
  t.true(rules[1]!.includes('"right":"@ipset-guest.100.peers-v4"'));
  t.true(rules[1]!.includes('"field":"dport"}},"right":"ssh"'));
  t.throws(() => compileRuleset(ruleset([], { ipsets: { 'guest/x/peers': [] } })), { instanceOf: InvalidConfigError });
});
