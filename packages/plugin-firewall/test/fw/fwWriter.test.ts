/**
 * The writer on edited documents: unchanged lines keep their spelling, changed and new lines
 * come out in Proxmox's own spelling (as its `format_rules` and option writer spell them), and
 * the result parses back to the edited model. Also the views by meaning.
 */
import test from 'ava';
import { formatFwRule, fwAliases, fwGroups, fwIpsets, fwOptionValues, fwRules, parseFwFile, writeFwFile, type FwDocument, type FwLine, type FwSection } from '../../src/index.js';

const TEXT = [
  '[options]',
  'POLICY_IN:  drop   ',
  'Enable:1',
  '',
  '[RULES]',
  '  in ACCEPT --proto tcp --dport 22   #  admins ',
  '|OUT DROP -p udp',
  '',
].join('\n');

function edit(doc: FwDocument, type: FwSection['type'], f: (lines: readonly FwLine[]) => FwLine[]): FwDocument {
  return { ...doc, sections: doc.sections.map((s) => (s.type === type ? { ...s, lines: f(s.lines) } : s)) };
}

test('an unchanged document is written as read, odd spellings included', (t) => {
  t.is(writeFwFile(parseFwFile(TEXT, { kind: 'vm', fileName: '100.fw' })), TEXT);
});

test('a changed rule is written in Proxmox spelling, the other lines as read', (t) => {
  const doc = parseFwFile(TEXT, { kind: 'vm', fileName: '100.fw' });
  const changed = edit(doc, 'rules', (lines) =>
    lines.map((l) => (l.type === 'rule' && l.rule.type === 'in' ? { ...l, rule: { ...l.rule, dport: '22,2222', log: 'info' as const } } : l)),
  );
  const out = writeFwFile(changed);
  t.is(out, TEXT.replace('  in ACCEPT --proto tcp --dport 22   #  admins ', 'IN ACCEPT -p tcp -dport 22,2222 -log info # admins'));
  t.deepEqual(fwRules(parseFwFile(out, { kind: 'vm', fileName: '100.fw' })), fwRules(changed));
});

test('new lines and sections built in code are written in Proxmox spelling', (t) => {
  const doc = parseFwFile(TEXT, { kind: 'vm', fileName: '100.fw' });
  let changed = edit(doc, 'options', (lines) => [...lines.map((l) => (l.type === 'option' && l.name === 'enable' ? { ...l, value: '0' } : l)), { type: 'option', name: 'log_level_in', value: '' }]);
  changed = edit(changed, 'rules', (lines) => [...lines, { type: 'rule', rule: { enabled: false, type: 'group', action: 'web', iface: 'net0', comment: '' } }]);
  changed = {
    ...changed,
    sections: [...changed.sections, { type: 'ipset', name: 'blocked', comment: 'bad', lines: [{ type: 'ipset-entry', nomatch: true, cidr: '10.0.0.0/8', comment: 'x' }, { type: 'ipset-entry', nomatch: false, cidr: 'fd00::/8' }] }],
  };
  const out = writeFwFile(changed);
  t.is(
    out,
    ['[options]', 'POLICY_IN:  drop   ', 'enable: 0', '', 'log_level_in:', '[RULES]', '  in ACCEPT --proto tcp --dport 22   #  admins ', '|OUT DROP -p udp', '|GROUP web -i net0 #', '[IPSET blocked] # bad', '!10.0.0.0/8 # x', 'fd00::/8', ''].join('\n'),
  );
  const back = parseFwFile(out, { kind: 'vm', fileName: '100.fw' });
  t.deepEqual(fwOptionValues(back), { policy_in: 'DROP', enable: '0', log_level_in: '' });
  t.deepEqual(fwIpsets(back).blocked?.entries, [{ nomatch: true, cidr: '10.0.0.0/8', comment: 'x' }, { nomatch: false, cidr: 'fd00::/8' }]);
});

test('formatFwRule spells every field as Proxmox writes it, in its order', (t) => {
  t.is(
    formatFwRule({ enabled: true, type: 'in', action: 'ACCEPT', macro: 'SSH', iface: 'net0', source: '+a', dest: 'b', proto: 'tcp', dport: '22', sport: '1024:65535', log: 'info', comment: 'c' }),
    'IN SSH(ACCEPT) -i net0 -source +a -dest b -p tcp -dport 22 -sport 1024:65535 -log info # c',
  );
  t.is(formatFwRule({ enabled: true, type: 'in', action: 'ACCEPT', proto: 'icmp', icmpType: 'echo-request' }), 'IN ACCEPT -p icmp -icmp-type echo-request');
});

test('the views read options, rules, ipsets, groups and aliases by meaning', (t) => {
  const doc = parseFwFile(
    '[OPTIONS]\nenable: 1\nENABLE: 0\n[ALIASES]\nOffice 192.0.2.0/24 # o\n[IPSET Trusted] # t\noffice\n!192.0.2.1\n[group Web]\nIN HTTP(ACCEPT)\n[RULES]\nGROUP web\n|IN DROP\n',
    { kind: 'cluster', fileName: 'cluster.fw' },
  );
  t.deepEqual(fwOptionValues(doc), { enable: '0' });
  t.deepEqual(fwAliases(doc), { office: { name: 'Office', cidr: '192.0.2.0/24', comment: 'o' } });
  t.deepEqual(fwIpsets(doc), { trusted: { name: 'Trusted', comment: 't', entries: [{ nomatch: false, cidr: 'office' }, { nomatch: true, cidr: '192.0.2.1' }] } });
  t.deepEqual(fwGroups(doc), { web: { name: 'Web', rules: [{ enabled: true, type: 'in', action: 'ACCEPT', macro: 'HTTP' }] } });
  t.deepEqual(fwRules(doc), [
    { enabled: true, type: 'group', action: 'web' },
    { enabled: false, type: 'in', action: 'DROP' },
  ]);
});

test('an empty file, a lone newline and a file without final newline round-trip', (t) => {
  for (const text of ['', '\n', '[RULES]', '# c\n\n[RULES]\nIN ACCEPT']) t.is(writeFwFile(parseFwFile(text, { kind: 'vm', fileName: '100.fw' })), text);
});
