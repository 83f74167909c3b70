import test from 'ava';
import { NodeCommandRunner, silentLogger } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { NFT_PROGRAM, NftablesBackend } from '../src/nft/NftablesBackend.js';
import { startNflogCapture, type NflogMessage } from './support/nflogCapture.js';
import { guest, rule, ruleset } from './support/rulesetBuilders.js';
import { createTrafficLab } from './support/trafficLab.js';

const real = realTest(
  test,
  process.getuid?.() === 0 && hasProgram(NFT_PROGRAM) && hasProgram('busybox') && hasProgram('ip') && hasProgram('tcpdump'),
  'needs root, nft (nftables), ip (iproute2), busybox (busybox-static) and tcpdump'
);

/** Whether a logged packet is IPv4 TCP to `dst`:`dport` (the policy also logs other traffic, e.g. IPv6 neighbour discovery). */
function isTcpTo(dst: string, dport: number): (m: NflogMessage) => boolean {
  return (m) => {
    const p = m.payload;
    if (p.length < 20 || p[0]! >> 4 !== 4 || p[9] !== 6) return false;
    const ihl = (p[0]! & 0x0f) * 4;
    return [...p.subarray(16, 20)].join('.') === dst && p.length >= ihl + 4 && p.readUInt16BE(ihl + 2) === dport;
  };
}

real.serial('a -log info rule and a logged DROP policy send the packets to the nflog group with Proxmox prefixes', async (t) => {
  const lab = await createTrafficLab([100, 101], { tcp: [7070, 8080], udp: [] });
  t.teardown(() => lab.dispose());
  const logGroup = 7;
  const capture = await startNflogCapture(lab.hostNetns, logGroup);
  t.teardown(() => capture.stop());
  await new NftablesBackend().apply(
    { node: 'test', runner: new NodeCommandRunner(), log: silentLogger, netns: lab.hostNetns },
    ruleset([guest(100, [rule('in', 'ACCEPT', { proto: 'tcp', dport: '8080', log: 'info' })], { logLevelIn: 'info' }), guest(101, [])], { logGroup }),
  );
  const ip100 = lab.guests.get(100)!.ip;

  t.is(await lab.tcp(101, 100, 8080, 'open'), 'open', 'IN ACCEPT tcp 8080');
  const accepted = await capture.next(':100:6:guest-100-in: ACCEPT: ', isTcpTo(ip100, 8080));
  t.is(accepted.prefix, ':100:6:guest-100-in: ACCEPT: ', 'the accepted flow is logged with the rule prefix');

  t.is(await lab.tcp(101, 100, 7070, 'silent'), 'silent', 'IN policy DROP');
  const dropped = await capture.next(':100:6:guest-100-in: policy DROP: ', isTcpTo(ip100, 7070));
  t.is(dropped.prefix, ':100:6:guest-100-in: policy DROP: ', 'the dropped flow is logged with the policy prefix');
  t.false(isTcpTo(ip100, 8080)({ prefix: '', payload: dropped.payload }), 'the matcher tells the flows apart');
});
