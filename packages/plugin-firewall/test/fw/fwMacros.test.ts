/**
 * Proxmox's macro table and macro expansion: rules with a macro expand to the table's
 * protocol/port lines, carrying the rule's own fields; IPv6 rules get the IPv6 lines; a
 * macro of the other IP version expands to nothing; contradicting ports are refused.
 */
import test from 'ava';
import { checkFwRule, expandFwMacro, findFwMacro, FW_MACROS, parseFwFile, type FwRule } from '../../src/index.js';

const ruleOf = (line: string): FwRule => {
  const doc = parseFwFile(`[RULES]\n${line}\n`, { kind: 'host', fileName: 'host.fw' });
  const l = doc.sections[0]!.lines[0]!;
  if (l.type !== 'rule') throw new Error('not a rule');
  return l.rule;
};

test('the table holds Proxmox macros by their spelling, each with at least one line', (t) => {
  t.is(FW_MACROS.length, 86);
  for (const name of ['Amanda', 'BitTorrent32', 'Ceph', 'DHCPv6', 'DNS', 'HTTPS', 'IPsecnat', 'NeighborDiscovery', 'PMG', 'Ping', 'SMB', 'SPICEproxy', 'SSH', 'Trcrt', 'Whois']) {
    t.truthy(findFwMacro(name), name);
  }
  t.is(findFwMacro('spiceproxy')?.name, 'SPICEproxy');
  t.is(findFwMacro('NoSuchMacro'), undefined);
  t.true(FW_MACROS.every((m) => m.rules.length > 0 && m.rules.every((r) => r.proto !== '')));
  t.is(new Set(FW_MACROS.map((m) => m.name.toLowerCase())).size, FW_MACROS.length);
});

test('SSH(ACCEPT) expands to tcp 22 with the rule\'s own fields', (t) => {
  t.deepEqual(expandFwMacro(ruleOf('IN SSH(ACCEPT) -i vmbr0 -source 10.0.0.0/8 -log info # admins')), [
    { enabled: true, type: 'in', action: 'ACCEPT', iface: 'vmbr0', source: '10.0.0.0/8', proto: 'tcp', dport: '22', log: 'info', comment: 'admins' },
  ]);
});

test('DNS expands to udp and tcp 53; SMB keeps its source port line', (t) => {
  t.deepEqual(
    expandFwMacro(ruleOf('OUT DNS(DROP)')).map((r) => [r.action, r.proto, r.dport, r.sport]),
    [
      ['DROP', 'udp', '53', undefined],
      ['DROP', 'tcp', '53', undefined],
    ],
  );
  const smb = expandFwMacro(ruleOf('IN SMB(ACCEPT)'));
  t.deepEqual(findFwMacro('SMB')!.rules, smb.map((r) => ({ proto: r.proto!, ...(r.dport ? { dport: r.dport } : {}), ...(r.sport ? { sport: r.sport } : {}) })));
  t.deepEqual(smb[2], { enabled: true, type: 'in', action: 'ACCEPT', proto: 'udp', dport: '1024:65535', sport: '137' });
});

test('Ping is ICMP echo-request for IPv4 and ICMPv6 for IPv6 rules; Trcrt likewise', (t) => {
  t.deepEqual(expandFwMacro(ruleOf('IN Ping(ACCEPT) -source 192.0.2.1'), 4), [{ enabled: true, type: 'in', action: 'ACCEPT', source: '192.0.2.1', proto: 'icmp', icmpType: 'echo-request' }]);
  t.deepEqual(expandFwMacro(ruleOf('IN Ping(ACCEPT) -source fd00::1'), 6), [{ enabled: true, type: 'in', action: 'ACCEPT', source: 'fd00::1', proto: 'icmpv6', icmpType: 'echo-request' }]);
  t.deepEqual(
    expandFwMacro(ruleOf('IN Trcrt(ACCEPT)'), 6).map((r) => [r.proto, r.dport, r.icmpType]),
    [
      ['udp', '33434:33524', undefined],
      ['icmpv6', undefined, 'echo-request'],
    ],
  );
});

test('IPv6-only macros expand to nothing for IPv4 rules and to their lines otherwise', (t) => {
  t.deepEqual(expandFwMacro(ruleOf('IN DHCPv6(ACCEPT)'), 4), []);
  t.deepEqual(expandFwMacro(ruleOf('IN DHCPv6(ACCEPT)')), [{ enabled: true, type: 'in', action: 'ACCEPT', proto: 'udp', dport: '546:547', sport: '546:547' }]);
  t.is(expandFwMacro(ruleOf('IN NeighborDiscovery(ACCEPT)'), 6).length, 4);
});

test('a port the macro leaves open is kept; one it fixes must agree; rules without a macro stay as they are', (t) => {
  t.deepEqual(expandFwMacro(ruleOf('IN GRE(ACCEPT) -source 10.0.0.1')), [{ enabled: true, type: 'in', action: 'ACCEPT', source: '10.0.0.1', proto: '47' }]);
  t.deepEqual(expandFwMacro(ruleOf('IN HTTP(ACCEPT) -p tcp -dport 80')).map((r) => r.dport), ['80']);
  t.throws(() => expandFwMacro({ enabled: true, type: 'in', action: 'ACCEPT', macro: 'HTTP', dport: '8080', proto: 'tcp' }), { message: /parameter 'dport' is already set by macro HTTP/ });
  t.throws(() => expandFwMacro({ enabled: true, type: 'in', action: 'ACCEPT', macro: 'Nope' }), { message: /unknown macro 'Nope'/ });
  const plain = ruleOf('IN ACCEPT -p tcp');
  t.deepEqual(expandFwMacro(plain), [plain]);
});

test('every macro expands, for IPv4 and IPv6, to rules that pass the parser\'s own rule checks', (t) => {
  for (const macro of FW_MACROS) {
    for (const version of [4, 6] as const) {
      const expanded = expandFwMacro({ enabled: true, type: 'in', action: 'ACCEPT', macro: macro.name }, version);
      t.is(expanded.length, macro.ipVersion !== undefined && macro.ipVersion !== version ? 0 : (version === 6 && macro.rulesIpv6 ? macro.rulesIpv6 : macro.rules).length, `${macro.name} v${version}`);
      for (const rule of expanded) t.is(checkFwRule(rule, 'host'), undefined, `${macro.name} v${version}: ${JSON.stringify(rule)}`);
    }
  }
});
