#!/usr/bin/env node
// Benchmark: the nftables firewall backend in a private network namespace.
// 1. Compile + apply of 10,000 guest rules (1,000 guests x 10 rules, one port each) through
//    NftablesBackend.apply (compile in Node, one `nft -j -f` transaction), against raw
//    `nft -j -f` of the same compiled JSON and raw `nft -f` of the same rule set as nft text
//    (what `nft list ruleset` prints after the apply, plus the same table removal), in
//    alternating pairs; median of 7 pairs; ratio target <= 1.2. nft parses JSON slower than
//    text, so both ratios are printed.
// 2. One guest's rule change with those 1,000 guests loaded: NftablesBackend.applyGuest
//    (reads the port maps, one transaction replacing that guest's chains and map elements),
//    median of 15 runs; target <= 100 ms.
// Prints JSON result lines (ms, ratio, absolute overhead, load average). Needs root and nft.
// Run after `npx tsc -b`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const core = await import(new URL('../packages/core/dist/src/index.js', import.meta.url).href);
const fw = await import(new URL('../packages/plugin-firewall/dist/src/index.js', import.meta.url).href);
const { NodeCommandRunner, silentLogger } = core;
const { NftablesBackend, NFT_PROGRAM } = fw;

const GUESTS = 1000;
const RULES_PER_GUEST = 10;
const PAIRS = 7;
const GUEST_RUNS = 15;
const log = (m) => process.stderr.write(`firewall-nft: ${m}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sh = (argv) => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

function guestRules(vmid, variant) {
  const rules = [];
  for (let i = 0; i < RULES_PER_GUEST; i++) {
    const proto = i % 3 === 0 ? 'udp' : 'tcp';
    rules.push({
      direction: i % 2 === 0 ? 'in' : 'out',
      action: i % 4 === 3 ? 'DROP' : 'ACCEPT',
      enabled: true,
      proto,
      dport: String(1000 + i + variant),
      source: `10.${(vmid >> 8) & 255}.${vmid & 255}.${i + 1}`,
    });
  }
  return rules;
}

function ruleset(changedVmid, variant) {
  const guests = [];
  for (let g = 0; g < GUESTS; g++) {
    const vmid = 100 + g;
    // dhcp/ndp off and radv on: no option rules, so the guest chains hold exactly these rules.
    guests.push({ vmid, enabled: true, ports: [`tap${vmid}i0`], rules: guestRules(vmid, vmid === changedVmid ? variant : 0), policyIn: 'DROP', policyOut: 'ACCEPT', dhcp: false, ndp: false, radv: true });
  }
  return { enabled: true, policyIn: 'ACCEPT', policyOut: 'ACCEPT', hostRules: [], groups: {}, ipsets: {}, aliases: {}, guests };
}

const netns = `fwbench${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'corral-bench-fw-'));
sh(['ip', 'netns', 'add', netns]);
try {
  const ctx = { node: 'bench', runner: new NodeCommandRunner(), log: silentLogger, netns };
  const backend = new NftablesBackend();
  const full = ruleset(undefined, 0);
  await backend.apply(ctx, full); // warm-up, and the source of the raw text
  const listed = sh(['ip', 'netns', 'exec', netns, NFT_PROGRAM, 'list', 'ruleset']);
  const ruleCount = listed.split('\n').filter((l) => /^\t\t(?!type |flags |elements )\S/.test(l)).length;
  const rawFile = join(dir, 'raw.nft');
  // The same removal the backend's transaction starts with, then the rule set as nft prints it.
  writeFileSync(rawFile, `add table inet corral\ndelete table inet corral\nadd table bridge corral\ndelete table bridge corral\n${listed}`);
  const rawJsonFile = join(dir, 'raw.json');
  writeFileSync(rawJsonFile, backend.compile(full));
  const timeRaw = (file, json) => {
    const t0 = performance.now();
    sh(['ip', 'netns', 'exec', netns, NFT_PROGRAM, ...(json ? ['-j'] : []), '-f', file]);
    return performance.now() - t0;
  };
  const timeSdk = async () => {
    const t0 = performance.now();
    await backend.apply(ctx, full);
    return performance.now() - t0;
  };
  const sdk = [];
  const raw = [];
  const rawJson = [];
  for (let i = 0; i < PAIRS; i++) {
    if (i % 2 === 0) {
      sdk.push(await timeSdk());
      raw.push(timeRaw(rawFile, false));
    } else {
      raw.push(timeRaw(rawFile, false));
      sdk.push(await timeSdk());
    }
    rawJson.push(timeRaw(rawJsonFile, true));
  }
  log(`rules in the kernel: ${ruleCount}`);
  log(`apply (compile + nft -j -f): ${sdk.map((x) => x.toFixed(0)).join(' ')} ms`);
  log(`raw nft -f (text): ${raw.map((x) => x.toFixed(0)).join(' ')} ms; raw nft -j -f of the compiled JSON: ${rawJson.map((x) => x.toFixed(0)).join(' ')} ms`);

  await backend.apply(ctx, full);
  const guestMs = [];
  for (let i = 0; i < GUEST_RUNS; i++) {
    const changed = ruleset(600, i + 1);
    const t0 = performance.now();
    await backend.applyGuest(ctx, changed, 600);
    guestMs.push(performance.now() - t0);
  }
  const chain = sh(['ip', 'netns', 'exec', netns, NFT_PROGRAM, 'list', 'chain', 'inet', 'corral', 'guest-600-in']);
  if (!chain.includes(`dport ${1000 + GUEST_RUNS}`)) throw new Error(`the last guest change is not in the kernel:\n${chain}`);
  log(`applyGuest with ${GUESTS} guests loaded: ${guestMs.map((x) => x.toFixed(0)).join(' ')} ms`);

  const load = loadavg().map((x) => Number(x.toFixed(2)));
  const out = (o) => console.log(JSON.stringify({ ...o, loadavg: load }));
  const mSdk = median(sdk);
  const mRaw = median(raw);
  const mRawJson = median(rawJson);
  out({ metric: 'firewall_apply_10k_rules_ms', value: mSdk, unit: 'ms', baseline: mRawJson, overheadMs: mSdk - mRawJson, note: `NftablesBackend.apply (compile + nft -j -f) of ${GUESTS} guests x ${RULES_PER_GUEST} rules (${ruleCount} rules in the kernel), median of ${PAIRS}; baseline: raw nft -j -f of the same compiled JSON` });
  out({ metric: 'firewall_apply_10k_rules_ratio', value: mSdk / mRawJson, unit: 'ratio', overheadMs: mSdk - mRawJson, note: 'vs raw nft -j -f of the same JSON; target <= 1.2' });
  out({ metric: 'firewall_apply_10k_rules_vs_text_ratio', value: mSdk / mRaw, unit: 'ratio', baseline: mRawJson / mRaw, overheadMs: mSdk - mRaw, note: `vs raw nft -f of the same rule set as nft text (${mRaw.toFixed(0)} ms); baseline column: nft's own JSON/text ratio` });
  out({ metric: 'firewall_guest_change_1000_guests_ms', value: median(guestMs), unit: 'ms', note: `NftablesBackend.applyGuest of one guest's ${RULES_PER_GUEST} changed rules with ${GUESTS} guests loaded, median of ${GUEST_RUNS}; target <= 100 ms` });
} finally {
  spawnSync('ip', ['netns', 'del', netns]);
  rmSync(dir, { recursive: true, force: true });
}
