/**
 * Every way a firewall file is refused: a table of {what, file kind, text, line, message},
 * each checked to throw an `FwParseError` of the stated kind whose message names the file
 * and the line (`<file>:<line>: ...`).
 */
import test from 'ava';
import { FwParseError, parseFwFile, writeFwFile, type FwDocument, type FwErrorKind, type FwFileKind } from '../../src/index.js';

const CLUSTER = parseFwFile('[IPSET known]\n10.0.0.0/8\n[ALIASES]\nknownalias 10.1.1.1\n[group knowngroup]\nIN ACCEPT\n', { kind: 'cluster', fileName: 'cluster.fw' });

type Row = readonly [title: string, kind: FwErrorKind, file: FwFileKind, text: string | Uint8Array, line: number | undefined, message: string, cluster?: FwDocument];

const ROWS: readonly Row[] = [
  ['bytes that are not UTF-8', 'encoding', 'vm', Buffer.from([0x5b, 0x52, 0xff, 0x5d, 0x0a]), undefined, 'not valid UTF-8'],
  ['a carriage return', 'encoding', 'vm', '[RULES]\r\nIN ACCEPT\n', 1, 'carriage return'],
  ['a NUL character', 'encoding', 'vm', '[RULES]\nIN ACCEPT\0\n', 2, 'NUL'],
  ['a line over the limit', 'limit', 'vm', `[RULES]\n#${'x'.repeat(9000)}\n`, 2, 'longer than 8192'],
  ['a file over the limit', 'limit', 'vm', `#${'x'.repeat(4 * 1024 * 1024)}`, undefined, 'longer than'],
  ['a line outside any section', 'section', 'vm', '# ok\nIN ACCEPT\n', 2, 'outside any section'],
  ['an unknown section header', 'section', 'cluster', '[OPTIONS]\n[FOO]\n', 2, "unknown section header '[FOO]'"],
  ['a section the file kind does not have', 'section', 'host', '[RULES]\n\n[IPSET x1]\n', 3, 'not allowed in a host firewall file'],
  ['groups in a guest file', 'section', 'vm', '[group web]\n', 1, '[GROUP] is not allowed in a guest'],
  ['an ipset defined twice', 'section', 'cluster', '[IPSET a1]\n[ipset A1]\n', 2, "ipset 'A1' is defined twice"],
  ['a bad ipset name', 'section', 'cluster', '[IPSET 1abc]\n', 1, "invalid ipset name '1abc'"],
  ['a security group name over 18 characters', 'section', 'cluster', '[group abcdefghijklmnopqrs]\n', 1, 'too long'],
  ['an unknown option', 'option', 'vm', '[OPTIONS]\nenable: 1\nnosmurfs: 1\n', 3, "unknown option 'nosmurfs' in a guest firewall file"],
  ['a bad boolean', 'option', 'host', '[OPTIONS]\nenable: yes\n', 2, "option enable: 'yes' is not 0 or 1"],
  ['a bad policy', 'option', 'cluster', '[OPTIONS]\npolicy_in: ALLOW\n', 2, 'not ACCEPT, DROP or REJECT'],
  ['a bad log level option', 'option', 'vm', '[OPTIONS]\nlog_level_in: loud\n', 2, 'not a log level'],
  ['an unknown conntrack helper', 'option', 'host', '[OPTIONS]\nnf_conntrack_helpers: ftp,gopher\n', 2, "unknown conntrack helper 'gopher'"],
  ['an unknown ethertype', 'option', 'vm', '[OPTIONS]\nlayer2_protocols: IPv4,IPX9\n', 2, "unknown ethernet protocol type 'IPX9'"],
  ['a log_ratelimit rate of 0', 'option', 'cluster', '[OPTIONS]\nlog_ratelimit: enable=1,rate=0/second\n', 2, "bad log_ratelimit part 'rate=0/second'"],
  ['a log_ratelimit key given twice', 'option', 'cluster', '[OPTIONS]\nlog_ratelimit: 1,enable=0\n', 2, "gives 'enable' twice"],
  ['log_ratelimit in upper case', 'option', 'cluster', '[OPTIONS]\nLOG_RATELIMIT: enable=1\n', 2, "unknown option 'LOG_RATELIMIT'"],
  ['an unknown rule type', 'rule', 'vm', '[RULES]\nINPUT ACCEPT\n', 2, "unknown rule type 'INPUT'"],
  ['a rule without action', 'rule', 'vm', '[RULES]\nIN\n', 2, 'unable to parse rule'],
  ['an unknown action', 'rule', 'vm', '[RULES]\nIN ALLOW\n', 2, "unknown action 'ALLOW'"],
  ['FORWARD in a guest file', 'rule', 'vm', '[RULES]\nFORWARD ACCEPT\n', 2, 'FORWARD rules are not allowed in a guest firewall file'],
  ['REJECT on forward', 'rule', 'cluster', '[RULES]\nFORWARD REJECT\n', 2, 'REJECT is not allowed in FORWARD rules'],
  ['-i in a security group', 'rule', 'cluster', '[group g1]\nIN ACCEPT -i net0\n', 2, '-i is not allowed in a security group'],
  ['a guest interface not net<N>', 'rule', 'vm', '[RULES]\nIN ACCEPT -i eth0\n', 2, "interface 'eth0' must be net<N>"],
  ['a host interface name with a dash', 'rule', 'host', '[RULES]\nIN ACCEPT -i eth-0\n', 2, "invalid interface name 'eth-0'"],
  ['IN rules in a vnet file', 'rule', 'vnet', '[RULES]\nFORWARD ACCEPT\nIN ACCEPT\n', 3, 'IN rules are not allowed in a vnet firewall file'],
  ['-i in a vnet file', 'rule', 'vnet', '[RULES]\nFORWARD DROP -i vmbr0\n', 2, 'parameter -i is not allowed in a vnet firewall file'],
  ['a REJECT forward policy of a vnet', 'option', 'vnet', '[OPTIONS]\npolicy_forward: REJECT\n', 2, "'REJECT' is not ACCEPT or DROP"],
  ['an empty vnet log level', 'option', 'vnet', '[OPTIONS]\nlog_level_forward:\n', 2, 'is not a log level'],
  ['ipsets in a vnet file', 'section', 'vnet', '[IPSET s1]\n', 1, 'not allowed in a vnet firewall file'],
  ['an unknown flag', 'rule', 'vm', '[RULES]\nIN ACCEPT -x 1\n', 2, "unable to parse rule parameters '-x 1'"],
  ['a bad log level in a rule', 'rule', 'vm', '[RULES]\nIN ACCEPT -log loud\n', 2, "bad log level 'loud'"],
  ['an unknown protocol', 'rule', 'vm', '[RULES]\nIN ACCEPT -p tcpx\n', 2, "unknown protocol 'tcpx'"],
  ['a port without protocol', 'rule', 'vm', '[RULES]\nIN ACCEPT -dport 22\n', 2, "'-dport' needs a protocol"],
  ['an ICMP type on tcp', 'rule', 'vm', '[RULES]\nIN ACCEPT -p tcp -icmp-type echo-request\n', 2, "'-icmp-type' needs protocol icmp"],
  ['an unknown ICMP type', 'rule', 'vm', '[RULES]\nIN ACCEPT -p icmp -icmp-type neighbor-solicitation\n', 2, "invalid icmp-type 'neighbor-solicitation' for proto 'icmp'"],
  ['a bad CIDR in a rule', 'address', 'vm', '[RULES]\nIN ACCEPT -source 10.0.0.0/33\n', 2, "source: invalid IP address, CIDR or range '10.0.0.0/33'"],
  ['host bits in a rule CIDR', 'address', 'vm', '[RULES]\nIN ACCEPT -dest 10.0.0.1/8\n', 2, "dest: invalid IP address, CIDR or range '10.0.0.1/8'"],
  ['mixed IPv4 and IPv6', 'address', 'vm', '[RULES]\nIN ACCEPT -source 10.0.0.1 -dest fd00::1\n', 2, 'mixed IPv4 and IPv6'],
  ['a range in a list', 'address', 'vm', '[RULES]\nIN ACCEPT -source 10.0.0.1-10.0.0.5,10.0.0.9\n', 2, 'a range cannot be part of a list'],
  ['a bad ipset entry address', 'address', 'vm', '[IPSET s1]\n10.0.0.300\n', 2, "'10.0.0.300' is not an IP address or CIDR"],
  ['a zero prefix in an ipset', 'address', 'vm', '[IPSET s1]\n0.0.0.0/0\n', 2, 'zero prefix length'],
  ['a bad alias address', 'address', 'vm', '[ALIASES]\na1 fd00::g\n', 2, "'fd00::g' is not an IP address"],
  ['a port over 65535', 'port', 'vm', '[RULES]\nIN ACCEPT -p tcp -dport 70000\n', 2, "invalid port '70000'"],
  ['a backwards port range', 'port', 'vm', '[RULES]\nIN ACCEPT -p udp -sport 90:80\n', 2, "backwards port range '90:80'"],
  ['too many ports', 'port', 'vm', `[RULES]\nIN ACCEPT -p tcp -dport ${Array.from({ length: 16 }, (_, i) => i + 1).join(',')}\n`, 2, 'more than 15 numbers'],
  ['an empty port list item', 'port', 'vm', '[RULES]\nIN ACCEPT -p tcp -dport 22,,80\n', 2, 'extraneous commas'],
  ['ports on a protocol without ports', 'port', 'vm', '[RULES]\nIN ACCEPT -p gre -dport 22\n', 2, "protocol 'gre' does not support ports"],
  ['an unknown macro', 'macro', 'vm', '[RULES]\nIN Gopher(ACCEPT)\n', 2, "unknown macro 'Gopher'"],
  ['a port that contradicts the macro', 'macro', 'vm', '[RULES]\nIN SSH(ACCEPT) -p tcp -dport 23\n', 2, "parameter 'dport' is already set by macro SSH"],
  ['an undefined ipset in cluster.fw', 'reference', 'cluster', '[RULES]\nIN ACCEPT\nIN ACCEPT -source +nosuch\n', 3, "no such ipset '+nosuch'"],
  ['an undefined alias in cluster.fw', 'reference', 'cluster', '[RULES]\nIN ACCEPT -dest nosuch\n', 2, "no such alias 'nosuch'"],
  ['an undefined alias in an ipset', 'reference', 'cluster', '[IPSET s1]\n10.0.0.0/8\nnosuch\n', 3, "no such alias 'nosuch' (ipset entry)"],
  ['an undefined security group', 'reference', 'cluster', '[RULES]\nGROUP nosuch\n', 2, "no such security group 'nosuch'"],
  ['a guest/ alias the guest lacks', 'reference', 'vm', '[RULES]\nIN ACCEPT -source guest/nosuch\n', 2, "no such alias 'guest/nosuch'"],
  ['a dc/ ipset the cluster lacks', 'reference', 'vm', '[RULES]\nIN ACCEPT -source +dc/nosuch\n', 2, "no such ipset '+dc/nosuch'", CLUSTER],
  ['a group the cluster lacks', 'reference', 'host', '[RULES]\nGROUP knowngroup\nGROUP nosuch\n', 3, "no such security group 'nosuch'", CLUSTER],
  ['a duplicate ipset entry', 'entry', 'vm', '[IPSET s1]\n10.0.0.1\n!10.0.0.1\n', 3, "duplicate entry '10.0.0.1'"],
  ['two addresses on an ipset line', 'entry', 'vm', '[IPSET s1]\n10.0.0.1 10.0.0.2\n', 2, 'is not an ipset entry'],
  ['an alias defined twice', 'entry', 'vm', '[ALIASES]\na1 10.0.0.1\nA1 10.0.0.2\n', 3, "alias 'A1' is defined twice"],
  ['an alias with two spaces', 'entry', 'vm', '[ALIASES]\na1  10.0.0.1\n', 2, 'is not an alias'],
];

test('the table has a row for every error kind but the writer\'s', (t) => {
  const kinds: FwErrorKind[] = ['encoding', 'limit', 'section', 'option', 'rule', 'address', 'port', 'macro', 'reference', 'entry'];
  t.deepEqual([...new Set(ROWS.map(([, kind]) => kind))].sort(), [...kinds].sort());
});

for (const [title, kind, file, text, line, message, cluster] of ROWS) {
  test(`refused: ${title} (${kind})`, (t) => {
    const fileName = `/etc/pve/firewall/${file === 'vm' ? '100' : file}.fw`;
    const err = t.throws(() => parseFwFile(text, { kind: file, fileName, ...(cluster ? { cluster } : {}) }), { instanceOf: FwParseError });
    t.is(err?.kind, kind);
    t.is(err?.code, 'CORRAL_ERR_PARSE');
    t.is(err?.line, line);
    t.is(err?.source, fileName);
    t.true(err?.message.startsWith(line === undefined ? `${fileName}: ` : `${fileName}:${line}: `), err?.message);
    t.true(err?.message.includes(message), err?.message);
  });
}

test('references the file cannot resolve are left alone without cluster.fw, and checked with it', (t) => {
  const text = '[RULES]\nIN ACCEPT -source +known -dest knownalias\nGROUP knowngroup\nIN ACCEPT -source +dc/other\n';
  t.notThrows(() => parseFwFile(text, { kind: 'vm', fileName: '100.fw' }));
  const err = t.throws(() => parseFwFile(text, { kind: 'vm', fileName: '100.fw', cluster: CLUSTER }), { instanceOf: FwParseError });
  t.is(err?.line, 4);
  t.is(err?.kind, 'reference');
});

const UNWRITABLE: ReadonlyArray<readonly [title: string, doc: FwDocument, line: number, message: string]> = [
  ['a comment with a newline', { kind: 'vm', preamble: [], finalNewline: true, sections: [{ type: 'rules', lines: [{ type: 'rule', rule: { enabled: true, type: 'in', action: 'ACCEPT', comment: 'a\nb' } }] }] }, 2, 'does not read back'],
  ['a comment with trailing spaces', { kind: 'vm', preamble: [], finalNewline: true, sections: [{ type: 'rules', lines: [{ type: 'rule', rule: { enabled: true, type: 'in', action: 'ACCEPT', comment: 'x  ' } }] }] }, 2, 'does not read back'],
  ['a value with a space', { kind: 'vm', preamble: [], finalNewline: true, sections: [{ type: 'rules', lines: [{ type: 'rule', rule: { enabled: true, type: 'in', action: 'ACCEPT', source: '10.0.0.1 -p tcp' } }] }] }, 2, 'does not read back'],
  ['a rule that does not check', { kind: 'vm', preamble: [], finalNewline: true, sections: [{ type: 'rules', lines: [{ type: 'rule', rule: { enabled: true, type: 'forward', action: 'ACCEPT' } }] }] }, 2, 'does not read back'],
  ['a non-comment preamble line', { kind: 'vm', preamble: [{ type: 'comment', raw: 'IN ACCEPT' }], finalNewline: true, sections: [] }, 1, 'does not start with'],
  ['a section the kind lacks', { kind: 'host', preamble: [], finalNewline: true, sections: [{ type: 'aliases', lines: [] }] }, 1, 'not allowed in a host firewall file'],
  ['an option in [RULES]', { kind: 'vm', preamble: [], finalNewline: true, sections: [{ type: 'rules', lines: [{ type: 'option', name: 'enable', value: '1' }] }] }, 2, 'an option line in a [RULES] section'],
  ['an ipset named twice', { kind: 'vm', preamble: [], finalNewline: true, sections: [{ type: 'ipset', name: 'ab', lines: [] }, { type: 'ipset', name: 'AB', lines: [] }] }, 2, "ipset 'AB' is defined twice"],
];

for (const [title, doc, line, message] of UNWRITABLE) {
  test(`the writer refuses ${title}, naming the line`, (t) => {
    const err = t.throws(() => writeFwFile(doc, { fileName: '100.fw' }), { instanceOf: FwParseError });
    t.is(err?.kind, 'unwritable');
    t.is(err?.line, line);
    t.true(err?.message.startsWith(`100.fw:${line}: `), err?.message);
    t.true(err?.message.includes(message), err?.message);
  });
}
