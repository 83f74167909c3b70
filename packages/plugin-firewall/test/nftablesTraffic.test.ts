import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { CommandFailedError, NodeCommandRunner, silentLogger, type CommandRunner, type FirewallContext, type FirewallRuleset } from '@corral/core';
import { hasProgram, realTest, runToolOk } from '@corral/core/testing';
import { NFT_PROGRAM, NftablesBackend } from '../src/nft/NftablesBackend.js';
import { parseFwFile } from '../src/fw/parseFwFile.js';
import { resolveFirewallRuleset } from '../src/resolve/resolveFirewallRuleset.js';
import { guest, rule, ruleset } from './support/rulesetBuilders.js';
import { createTrafficLab, type ProbeResult, type TrafficLab } from './support/trafficLab.js';

const real = realTest(
  test,
  process.getuid?.() === 0 && hasProgram(NFT_PROGRAM) && hasProgram('busybox') && hasProgram('ip'),
  'needs root, nft (nftables), ip (iproute2) and busybox (busybox-static)'
);

const LISTEN = { tcp: [80, 6060, 7070, 8080, 9090], udp: [5353, 5354, 5355] };

function context(lab: TrafficLab, runner: CommandRunner = new NodeCommandRunner()): FirewallContext {
  return { node: 'test', runner, log: silentLogger, netns: lab.hostNetns };
}

async function listRuleset(lab: TrafficLab): Promise<Array<Record<string, unknown>>> {
  const out = await runToolOk(['ip', 'netns', 'exec', lab.hostNetns, NFT_PROGRAM, '-j', 'list', 'ruleset']);
  return (JSON.parse(out.stdout) as { nftables: Array<Record<string, unknown>> }).nftables.filter((o) => !('metainfo' in o));
}

async function withLab(vmids: number[], fn: (lab: TrafficLab) => Promise<void>, options: { firewallBridges?: boolean } = {}): Promise<void> {
  const lab = await createTrafficLab(vmids, LISTEN, options);
  try {
    await fn(lab);
  } finally {
    await lab.dispose();
  }
}

real.serial('bridged TCP, UDP and ICMP between two guests follow IN and OUT rules, policies and conntrack', async (t) => {
  await withLab([100, 101], async (lab) => {
    const ip101 = lab.guests.get(101)!.ip;
    const backend = new NftablesBackend();
    await backend.apply(
      context(lab),
      ruleset([
        guest(100, [
          rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080,6060', source: ip101 }),
          rule('in', 'REJECT', { proto: 'tcp', dport: '9090' }),
          rule('in', 'ACCEPT', { proto: 'udp', dport: '5353,5355' }),
          rule('in', 'ACCEPT', { proto: 'icmp', icmpType: 'echo-request' }),
        ]),
        guest(
          101,
          [
            rule('out', 'ACCEPT', { proto: 'tcp', dport: '7070:9090' }),
            rule('out', 'ACCEPT', { proto: 'udp', dport: '5353' }),
            rule('out', 'REJECT', { proto: 'udp', dport: '5355' }),
            rule('out', 'ACCEPT', { proto: 'icmp' }),
          ],
          { policyOut: 'DROP' }
        ),
      ])
    );
    const matrix: Array<[string, (expect: ProbeResult) => Promise<ProbeResult>, ProbeResult]> = [
      // 101's IN policy is DROP: every answer that comes back rides on conntrack.
      ['101→100 tcp 8080 (OUT accept, IN accept)', (expect) => lab.tcp(101, 100, 8080, expect), 'open'],
      ['101→100 tcp 9090 (IN REJECT: reset)', (expect) => lab.tcp(101, 100, 9090, expect), 'refused'],
      ['101→100 tcp 7070 (IN policy DROP)', (expect) => lab.tcp(101, 100, 7070, expect), 'silent'],
      ['101→100 tcp 6060 (IN accepts, OUT policy DROP)', (expect) => lab.tcp(101, 100, 6060, expect), 'silent'],
      ['101→100 udp 5353 (accepted both ways)', (expect) => lab.udp(101, 100, 5353, expect), 'open'],
      ['101→100 udp 5354 (IN policy DROP)', (expect) => lab.udp(101, 100, 5354, expect), 'silent'],
      ['101→100 udp 5355 (OUT REJECT: ICMP unreachable)', (expect) => lab.udp(101, 100, 5355, expect), 'refused'],
      ['101→100 icmp echo', (expect) => lab.ping(101, 100, expect), 'open'],
      ['100→101 tcp 8080 (101 IN policy DROP)', (expect) => lab.tcp(100, 101, 8080, expect), 'silent'],
      ['100→101 udp 5353 (101 IN policy DROP)', (expect) => lab.udp(100, 101, 5353, expect), 'silent'],
      ['100→101 icmp echo (101 IN policy DROP)', (expect) => lab.ping(100, 101, expect), 'silent'],
    ];
    for (const [what, probe, expected] of matrix) t.is(await probe(expected), expected, what);
  });
});

real.serial('security groups, host rules and nflog-logged rules filter as the guest and host rules do', async (t) => {
  await withLab([100, 101], async (lab) => {
    const backend = new NftablesBackend();
    await backend.apply(
      context(lab),
      ruleset([guest(100, [rule('in', 'web', { group: true }), rule('in', 'ACCEPT', { proto: 'icmp', log: 'warning' })], { logLevelIn: 'info' }), guest(101, [])], {
        groups: { web: [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080' }), rule('in', 'REJECT', { proto: 'tcp', dport: '9090', log: 'err' })] },
        hostRules: [rule('in', 'DROP', { proto: 'tcp', dport: '7070' })],
        logGroup: 3,
      })
    );
    const matrix: Array<[string, (expect: ProbeResult) => Promise<ProbeResult>, ProbeResult]> = [
      ['101→100 tcp 8080 (group web accepts)', (expect) => lab.tcp(101, 100, 8080, expect), 'open'],
      ['101→100 tcp 9090 (group web rejects)', (expect) => lab.tcp(101, 100, 9090, expect), 'refused'],
      ['101→100 tcp 7070 (IN policy DROP, logged)', (expect) => lab.tcp(101, 100, 7070, expect), 'silent'],
      ['101→100 icmp (logged accept)', (expect) => lab.ping(101, 100, expect), 'open'],
      ['101→host tcp 7070 (host IN rule DROP)', (expect) => lab.tcp(101, 0, 7070, expect), 'silent'],
      ['101→host tcp 8080 (host IN policy ACCEPT)', (expect) => lab.tcp(101, 0, 8080, expect), 'open'],
    ];
    for (const [what, probe, expected] of matrix) t.is(await probe(expected), expected, what);
    const text = JSON.stringify(await listRuleset(lab));
    t.true(text.includes('{"log":{"prefix":":100:4:guest-100-in: ACCEPT: ","group":3}}'), 'the kernel holds the nflog statement of the rule');
    t.true(text.includes('{"log":{"prefix":":100:6:guest-100-in: policy DROP: ","group":3}}'), 'and of the IN policy');
  });
});

real.serial('macfilter and ipfilter drop what a guest sends from another MAC or address', async (t) => {
  await withLab([100, 101], async (lab) => {
    const g101 = lab.guests.get(101)!;
    const link = JSON.parse((await runToolOk(['ip', '-n', g101.netns, '-j', 'link', 'show', 'dev', 'eth0'])).stdout) as Array<{ address: string }>;
    const mac = link[0]!.address;
    const backend = new NftablesBackend();
    const apply = (nic: { mac?: string; ipfilter?: string[] }): Promise<void> =>
      backend.apply(
        context(lab),
        ruleset([guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080' })]), guest(101, [], { nics: [{ iface: 'net0', port: g101.port, ...nic }] })])
      );
    await apply({ mac, ipfilter: [g101.ip] });
    t.is(await lab.tcp(101, 100, 8080, 'open'), 'open', 'its own MAC and address pass');
    await apply({ mac: '02:00:00:00:00:99' });
    t.is(await lab.tcp(101, 100, 8080, 'silent'), 'silent', 'another MAC is dropped');
    await apply({ mac, ipfilter: ['192.0.2.0/24'] });
    t.is(await lab.tcp(101, 100, 8080, 'silent'), 'silent', 'an address outside the ipfilter is dropped');
  });
});

real.serial('an established connection keeps flowing after its rule is removed; a new one is dropped', async (t) => {
  await withLab([100, 101], async (lab) => {
    const backend = new NftablesBackend();
    const open = ruleset([guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080' })]), guest(101, [])]);
    await backend.apply(context(lab), open);
    t.is(await lab.tcpHold(101, 100, 8080, 1, 'open'), 'open');
    t.is(await lab.tcpSend(101, 1, 'open'), 'open');
    await backend.apply(context(lab), ruleset([guest(100, []), guest(101, [])]));
    t.is(await lab.tcpSend(101, 1, 'open'), 'open', 'conntrack: the established flow still passes');
    t.is(await lab.tcp(101, 100, 8080, 'silent'), 'silent', 'a new connection meets the IN policy');
  });
});

real.serial('ipset membership decides: adding, removing and nomatch-excepting an address flips the flow', async (t) => {
  await withLab([100, 101], async (lab) => {
    const ip101 = lab.guests.get(101)!.ip;
    const subnet = `${ip101.split('.').slice(0, 3).join('.')}.0/24`;
    const backend = new NftablesBackend();
    const withSet = (entries: string[]): FirewallRuleset =>
      ruleset([guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080', source: '+trusted' })]), guest(101, [])], { ipsets: { trusted: entries } });
    await backend.apply(context(lab), withSet(['192.0.2.1']));
    t.is(await lab.tcp(101, 100, 8080, 'silent'), 'silent', 'not a member');
    await backend.apply(context(lab), withSet(['192.0.2.1', ip101]));
    t.is(await lab.tcp(101, 100, 8080, 'open'), 'open', 'added');
    await backend.apply(context(lab), withSet([subnet, `!${ip101}`]));
    t.is(await lab.tcp(101, 100, 8080, 'silent'), 'silent', 'excepted by a nomatch entry');
    await backend.apply(context(lab), withSet([subnet]));
    t.is(await lab.tcp(101, 100, 8080, 'open'), 'open', 'member through its subnet');
    await backend.apply(context(lab), withSet([]));
    t.is(await lab.tcp(101, 100, 8080, 'silent'), 'silent', 'removed (empty set)');
  });
});

real.serial('a transaction nft refuses leaves the old rule set installed and filtering', async (t) => {
  await withLab([100, 101], async (lab) => {
    const backend = new NftablesBackend();
    await backend.apply(context(lab), ruleset([guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080' })]), guest(101, [])]));
    t.is(await lab.tcp(101, 100, 7070, 'silent'), 'silent');
    const before = await listRuleset(lab);
    // A runner that appends one command nft must refuse (a rule in a chain that does not exist)
    // to the transaction (an argument, or a file for large ones): the whole transaction, table
    // removal included, must roll back.
    const real = new NodeCommandRunner();
    const bad = { add: { rule: { family: 'inet', table: 'corral', chain: 'no-such-chain', expr: [{ accept: null }] } } };
    const spoil = (json: string): string => {
      const doc = JSON.parse(json) as { nftables: unknown[] };
      return JSON.stringify({ nftables: [...doc.nftables, bad] });
    };
    let spoiled = 0;
    const spoiling: CommandRunner = {
      async run(argv, options) {
        const last = argv[argv.length - 1]!;
        if (argv.includes('-f')) {
          await writeFile(last, spoil(await readFile(last, 'utf8')));
          spoiled += 1;
        } else if (last.startsWith('{"nftables"')) {
          argv = [...argv.slice(0, -1), spoil(last)];
          spoiled += 1;
        }
        return real.run(argv, options);
      },
    };
    const err = await t.throwsAsync(backend.apply(context(lab, spoiling), ruleset([guest(100, [rule('in', 'ACCEPT', { proto: 'tcp' })]), guest(101, [])])));
    t.true(err instanceof CommandFailedError, String(err));
    t.is(spoiled, 1);
    t.deepEqual(await listRuleset(lab), before, 'the kernel holds the old rule set');
    // The same with a transaction large enough to go through a file (400 more guests).
    const many = Array.from({ length: 400 }, (_, i) => guest(1000 + i, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '22' })]));
    await t.throwsAsync(backend.apply(context(lab, spoiling), ruleset([guest(100, []), guest(101, []), ...many])), { instanceOf: CommandFailedError });
    t.is(spoiled, 2);
    t.deepEqual(await listRuleset(lab), before, 'the kernel still holds the old rule set');
    t.is(await lab.tcp(101, 100, 7070, 'silent'), 'silent', 'and it still filters');
    t.is(await lab.tcp(101, 100, 8080, 'open'), 'open');
  });
});

real.serial('applyGuest replaces one guest and leaves the other guests\u2019 chains and map entries untouched', async (t) => {
  await withLab([100, 101, 102], async (lab) => {
    const backend = new NftablesBackend();
    const base = [
      guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080' })]),
      guest(101, []),
      guest(102, [rule('in', 'ACCEPT', { proto: 'icmp' })], { nics: [{ iface: 'net0', port: 'tap102i0', mac: '02:00:00:00:01:02' }] }),
    ];
    await backend.apply(context(lab), ruleset(base));
    t.is(await lab.tcp(100, 101, 8080, 'silent'), 'silent');
    const othersOf = (objs: Array<Record<string, unknown>>): string[] =>
      objs
        .map((o) => {
          // Map listings hold every guest's elements: keep only the elements of other guests.
          const m = o.map as { elem?: unknown[] } | undefined;
          return JSON.stringify(m ? { map: { ...m, elem: (m.elem ?? []).filter((e) => !JSON.stringify(e).includes('101')) } } : o);
        })
        .filter((text) => !text.includes('101'));
    const before = await listRuleset(lab);
    const changed = [base[0]!, guest(101, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080' })]), base[2]!];
    await backend.applyGuest(context(lab), ruleset(changed), 101);
    const after = await listRuleset(lab);
    t.deepEqual(othersOf(after), othersOf(before), 'objects of guests 100 and 102 (with their handles) are unchanged');
    t.notDeepEqual(after, before);
    t.is(await lab.tcp(100, 101, 8080, 'open'), 'open', 'the new rule of guest 101 filters');
    t.is(await lab.tcp(101, 100, 8080, 'open'), 'open', 'guest 100 still accepts 8080');
    t.is(await lab.tcp(101, 100, 7070, 'silent'), 'silent', 'and still drops the rest');
    // Removing guest 101 from the rule set removes its chains and entries only.
    await backend.applyGuest(context(lab), ruleset([base[0]!, base[2]!]), 101);
    const removed = await listRuleset(lab);
    t.false(JSON.stringify(removed).includes('guest-101'), 'no chain of guest 101 is left');
    t.deepEqual(othersOf(removed), othersOf(before));
    t.is(await lab.tcp(100, 101, 7070, 'open'), 'open', 'guest 101 is no longer filtered');
    // Adding it back gets its port a fresh id; the other guests keep theirs.
    await backend.applyGuest(context(lab), ruleset([base[0]!, guest(101, []), base[2]!]), 101);
    t.deepEqual(othersOf(await listRuleset(lab)), othersOf(before));
    t.is(await lab.tcp(100, 101, 7070, 'silent'), 'silent', 'guest 101 is filtered again');
  });
});

real.serial('applyGuest falls back to a whole apply when the guest needs what is not installed (a new ipset)', async (t) => {
  await withLab([100, 101], async (lab) => {
    const backend = new NftablesBackend();
    await backend.apply(context(lab), ruleset([guest(100, []), guest(101, [])]));
    t.is(await lab.tcp(101, 100, 8080, 'silent'), 'silent');
    const ip101 = lab.guests.get(101)!.ip;
    const changed = ruleset([guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080', source: '+fresh' })]), guest(101, [])], { ipsets: { fresh: [ip101] } });
    await backend.applyGuest(context(lab), changed, 100);
    t.true(JSON.stringify(await listRuleset(lab)).includes('"name":"ipset-fresh-v4"'), 'the ipset is installed');
    t.is(await lab.tcp(101, 100, 8080, 'open'), 'open');
  });
});

real.serial('with per-NIC firewall bridges (fwbr/fwln/fwpr, as firewall=1 ports are wired) the same rules filter, host to guest included', async (t) => {
  await withLab(
    [100, 101],
    async (lab) => {
      const backend = new NftablesBackend();
      await backend.apply(
        context(lab),
        ruleset([guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080' })]), guest(101, [rule('out', 'DROP', { proto: 'udp', dport: '5353' })])])
      );
      const matrix: Array<[string, (expect: ProbeResult) => Promise<ProbeResult>, ProbeResult]> = [
        ['101→100 tcp 8080 (IN accept)', (expect) => lab.tcp(101, 100, 8080, expect), 'open'],
        ['101→100 tcp 7070 (IN policy DROP)', (expect) => lab.tcp(101, 100, 7070, expect), 'silent'],
        ['101→100 udp 5353 (OUT DROP)', (expect) => lab.udp(101, 100, 5353, expect), 'silent'],
        ['host→100 tcp 8080 (IN accept)', (expect) => lab.tcp(0, 100, 8080, expect), 'open'],
        ['host→100 icmp (IN policy DROP: the host is filtered too on a firewall bridge)', (expect) => lab.ping(0, 100, expect), 'silent'],
        ['100→101 icmp (101 IN policy DROP)', (expect) => lab.ping(100, 101, expect), 'silent'],
        ['100→host tcp 8080 (host IN policy ACCEPT, answer by conntrack)', (expect) => lab.tcp(100, 0, 8080, expect), 'open'],
      ];
      for (const [what, probe, expected] of matrix) t.is(await probe(expected), expected, what);
    },
    { firewallBridges: true }
  );
});

real.serial('IPv6: neighbor discovery passes by default (ndp), rules and ipsets match IPv6 sources, and without ndp a DROP policy starves it', async (t) => {
  await withLab([100, 101], async (lab) => {
    const backend = new NftablesBackend();
    const ip6of101 = lab.guests.get(101)!.ip6;
    const withNdp = (ndp: boolean): FirewallRuleset =>
      ruleset([guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080', source: '+peers6' })], { ndp }), guest(101, [], { ndp })], {
        ipsets: { peers6: [ip6of101, '192.0.2.1'] },
        // The host too: policy DROP, one port open, its own ndp option.
        ndp,
        policyIn: 'DROP',
        hostRules: [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080' })],
      });
    await backend.apply(context(lab), withNdp(true));
    t.is(await lab.tcp6(101, 100, 8080, 'open'), 'open', 'IPv6 source in the ipset, neighbor discovery accepted');
    t.is(await lab.tcp6(101, 100, 7070, 'silent'), 'silent', 'IN policy DROP');
    t.is(await lab.tcp6(101, 0, 8080, 'open'), 'open', 'to the host: neighbor discovery accepted by the host chain');
    t.is(await lab.tcp6(101, 0, 7070, 'silent'), 'silent', 'the host policy DROP');
    await backend.apply(context(lab), withNdp(false));
    await lab.flushNeighbours();
    t.is(await lab.tcp6(101, 100, 8080, 'silent'), 'silent', 'no neighbor discovery through DROP policies');
    t.is(await lab.tcp6(101, 0, 8080, 'silent'), 'silent', 'nor through the host policy');
  });
});

real.serial('Proxmox .fw files, parsed and resolved, filter real traffic (macros, a guest ipset, policies; ports in fwbr bridges)', async (t) => {
  await withLab(
    [100, 101],
    async (lab) => {
      const ip101 = lab.guests.get(101)!.ip;
      const cluster = parseFwFile('[OPTIONS]\nenable: 1\npolicy_in: ACCEPT\n', { kind: 'cluster', fileName: 'cluster.fw' });
      const fw100 = parseFwFile(`[OPTIONS]\nenable: 1\n\n[IPSET peers]\n${ip101}\n\n[RULES]\nIN HTTP(ACCEPT) -source +peers\nIN Ping(ACCEPT)\n`, {
        kind: 'vm',
        fileName: '100.fw',
        cluster,
      });
      const fw101 = parseFwFile('[OPTIONS]\nenable: 1\n', { kind: 'vm', fileName: '101.fw', cluster });
      const ruleset = resolveFirewallRuleset({
        cluster,
        guests: [
          { vmid: 100, document: fw100, nics: [{ key: 'net0', port: 'tap100i0', firewall: true }] },
          { vmid: 101, document: fw101, nics: [{ key: 'net0', port: 'tap101i0', firewall: true }] },
        ],
      });
      await new NftablesBackend().apply(context(lab), ruleset);
      const matrix: Array<[string, (expect: ProbeResult) => Promise<ProbeResult>, ProbeResult]> = [
        ['101→100 tcp 80 (HTTP macro, source in the guest ipset)', (expect) => lab.tcp(101, 100, 80, expect), 'open'],
        ['101→100 icmp (Ping macro)', (expect) => lab.ping(101, 100, expect), 'open'],
        ['101→100 tcp 8080 (policy_in DROP by default)', (expect) => lab.tcp(101, 100, 8080, expect), 'silent'],
        ['100→101 icmp (101 has no rules: policy_in DROP)', (expect) => lab.ping(100, 101, expect), 'silent'],
        ['host→100 tcp 80 (not in the ipset)', (expect) => lab.tcp(0, 100, 80, expect), 'silent'],
      ];
      for (const [what, probe, expected] of matrix) t.is(await probe(expected), expected, what);
    },
    { firewallBridges: true }
  );
});

real.serial('concurrent applyGuest calls run one after the other: two new guests get distinct port ids', async (t) => {
  await withLab([100, 101, 102], async (lab) => {
    const backend = new NftablesBackend();
    const all = [guest(100, []), guest(101, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080' })]), guest(102, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '7070' })])];
    await backend.apply(context(lab), ruleset([all[0]!]));
    // Count whole applies (their transaction removes the tables): interleaved calls would pick the
    // same free port id, and the second transaction would fail and fall back to a whole apply.
    const real = new NodeCommandRunner();
    let wholeApplies = 0;
    const counting: CommandRunner = {
      run(argv, options) {
        if (argv.some((a) => a.includes('"delete":{"table"'))) wholeApplies += 1;
        return real.run(argv, options);
      },
    };
    await Promise.all([backend.applyGuest(context(lab, counting), ruleset(all), 101), backend.applyGuest(context(lab, counting), ruleset(all), 102)]);
    t.is(wholeApplies, 0, 'both guests went in incrementally');
    const out = await runToolOk(['ip', 'netns', 'exec', lab.hostNetns, NFT_PROGRAM, '-j', 'list', 'map', 'bridge', 'corral', 'port-ids']);
    const elems = (JSON.parse(out.stdout) as { nftables: Array<{ map?: { elem: Array<[string, number]> } }> }).nftables.find((o) => o.map)!.map!.elem;
    t.deepEqual(elems.map(([port]) => port).sort(), ['tap100i0', 'tap101i0', 'tap102i0']);
    t.is(new Set(elems.map(([, id]) => id)).size, 3, 'distinct ids');
    t.is(await lab.tcp(100, 101, 8080, 'open'), 'open');
    t.is(await lab.tcp(100, 101, 7070, 'silent'), 'silent');
    t.is(await lab.tcp(100, 102, 7070, 'open'), 'open');
    t.is(await lab.tcp(100, 102, 8080, 'silent'), 'silent');
  });
});
