/**
 * Proxmox's own qemu-server `test/cfg2cmd` corpus through Corral: each config is parsed and
 * built as Corral would start it in qemu-server's test environment (vmid 8006, its storages,
 * KVM and vhost-net present), and the argv is compared with Proxmox's expected command line by
 * family (see `argvFamilies.ts`). The per-family agreement is printed. The ratchet is per
 * config and family: the floor file (`test/fixtures/cfg2cmd-floor.json`) lists every
 * (config, family) pair that agrees (both sides empty counts) and every config Proxmox refuses
 * that Corral refuses; the test fails when any of them stops holding, so one config's
 * regression cannot hide behind another's gain. New agreements are printed; add them with
 * `CORRAL_COMPAT_UPDATE_FLOOR=1` (which rewrites the file only when nothing regressed).
 * Differences that remain on purpose are listed with their reasons in
 * `docs/qemu-server-compat.md`.
 *
 * Set `CORRAL_COMPAT_REPORT=<file>` to write every difference as JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { VolumeAccess } from '@corral/core';
import { buildQemuCommandLine, type QemuHostFeatures } from '../../src/cmdline/QemuCommandLine.js';
import { parseQemuConfig } from '../../src/config/parseQemuConfig.js';
import { qemuRunPaths } from '../../src/runtime/QemuRunPaths.js';
import { argvFamilies, FAMILIES, missingItems, type Family } from './argvFamilies.js';
import { CORPUS_DIR, loadCfg2cmdCorpus, type Cfg2cmdCase } from './cfg2cmdCorpus.js';
import { resolvePveTestVolume } from './pveTestStorage.js';

/** The firmware paths of Proxmox's pve-edk2-firmware package (what the expected lines name). */
const PVE_FIRMWARE = '/usr/share/pve-edk2-firmware/';
/**
 * qemu-server's test environment: the QEMU it ran on (machine 11.0: host_tunnel=off shows), its
 * mocked initiator name, bridge MTUs, CPU (GenuineIntel unless a test says, 46 physical address
 * bits), huge page sizes (2 MiB and 1 GiB) and NUMA nodes (every node exists).
 */
const HOST: QemuHostFeatures = {
  kvm: true,
  vhostNet: true,
  ovmf: {
    '2m': { code: `${PVE_FIRMWARE}/OVMF_CODE.fd`, vars: `${PVE_FIRMWARE}/OVMF_VARS.fd`, varsSize: 131072 },
    '4m': { code: `${PVE_FIRMWARE}/OVMF_CODE_4M.fd`, vars: `${PVE_FIRMWARE}/OVMF_VARS_4M.fd`, varsSize: 540672 },
  },
  qemuVersion: [11, 0],
  iscsiInitiatorName: 'iqn.1993-08.org.debian:01:aabbccddeeff',
  cpuVendor: 'GenuineIntel',
  physAddressBits: 46,
  hugepageSizesKiB: [2048, 1048576],
  numaNodes: [0, 1, 2, 3, 4, 5, 6, 7],
};
const BRIDGE_MTUS: ReadonlyMap<string, number> = new Map([['vxlan_bridge', 1450]]);

/** The ratchet (see the module comment), in the source tree. */
const FLOOR_FILE = fileURLToPath(new URL('../../../test/fixtures/cfg2cmd-floor.json', import.meta.url));

/** The floor file's content: agreeing families by config, and the configs Corral must refuse. */
interface AgreementFloor {
  readonly about: string;
  readonly refused: readonly string[];
  readonly agree: Readonly<Record<string, readonly Family[]>>;
}

type Outcome = { readonly argv: readonly string[] } | { readonly error: string };

function buildCase(c: Cfg2cmdCase): Outcome {
  try {
    const config = parseQemuConfig(c.entries, { vmid: 8006 });
    const volumes = new Map<string, VolumeAccess>();
    for (const d of config.drives) if (d.source.kind === 'volume') volumes.set(d.key, resolvePveTestVolume(d.source.volid));
    if (config.efidisk?.source.kind === 'volume') volumes.set('efidisk0', resolvePveTestVolume(config.efidisk.source.volid));
    for (const d of config.drives) {
      if (d.source.kind === 'path') volumes.set(d.key, d.source.path.startsWith('/dev/') ? { kind: 'block', path: d.source.path, format: 'raw' } : { kind: 'file', path: d.source.path, format: 'raw' });
    }
    let host: QemuHostFeatures = HOST;
    if (c.directives.QEMU_VERSION) host = { ...host, qemuVersion: c.directives.QEMU_VERSION.split('.').slice(0, 2).map(Number) as [number, number] };
    if (c.directives.HOST_CPU_VENDOR) host = { ...host, cpuVendor: c.directives.HOST_CPU_VENDOR };
    const { argv } = buildQemuCommandLine({ config, paths: qemuRunPaths('/var/run/qemu-server/8006'), host, volumes, daemonize: true, bridgeMtus: BRIDGE_MTUS });
    return { argv };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

interface FamilyResult {
  readonly agree: number;
  readonly total: number;
}

test('Proxmox cfg2cmd corpus: Corral builds what Proxmox builds, and the argv agrees by family', (t) => {
  const corpus = loadCfg2cmdCorpus();
  const perFamily = Object.fromEntries(FAMILIES.map((f) => [f, { agree: 0, total: 0 }])) as Record<Family, { agree: number; total: number }>;
  const report: Array<{ name: string; error?: string; differences?: Partial<Record<Family, { proxmox: string[]; corral: string[] }>> }> = [];
  let buildable = 0;
  let built = 0;
  let mustRefuse = 0;
  let refused = 0;
  const refusedWrongly: string[] = [];
  const acceptedWrongly: string[] = [];
  // What agrees now, for the ratchet: families by config (both sides empty included), refused configs.
  const agreeNow: Record<string, Family[]> = {};
  const refusedNow: string[] = [];
  for (const c of corpus) {
    const outcome = buildCase(c);
    if (!c.expected) {
      mustRefuse++;
      if ('error' in outcome) {
        refused++;
        refusedNow.push(c.name);
      } else acceptedWrongly.push(`${c.name} (Proxmox: ${c.directives.EXPECT_ERROR ?? 'refused'})`);
      continue;
    }
    buildable++;
    if ('error' in outcome) {
      refusedWrongly.push(`${c.name}: ${outcome.error}`);
      report.push({ name: c.name, error: outcome.error });
      for (const f of FAMILIES) perFamily[f].total++;
      continue;
    }
    built++;
    const want = argvFamilies(c.expected, CORPUS_DIR);
    const got = argvFamilies(outcome.argv, CORPUS_DIR);
    const differences: Partial<Record<Family, { proxmox: string[]; corral: string[] }>> = {};
    agreeNow[c.name] = [];
    for (const f of FAMILIES) {
      if (want[f].length === 0 && got[f].length === 0) {
        agreeNow[c.name]!.push(f);
        continue;
      }
      perFamily[f].total++;
      const proxmox = missingItems(want[f], got[f]);
      const corral = missingItems(got[f], want[f]);
      if (proxmox.length === 0 && corral.length === 0) {
        perFamily[f].agree++;
        agreeNow[c.name]!.push(f);
      } else differences[f] = { proxmox, corral };
    }
    report.push({ name: c.name, differences });
  }
  const totals = Object.values(perFamily).reduce<FamilyResult>((a, r) => ({ agree: a.agree + r.agree, total: a.total + r.total }), { agree: 0, total: 0 });
  // The same over the configs both build (a refused config counts against every family above).
  const refusedComparisons = refusedWrongly.length * FAMILIES.length;
  const amongBuilt: FamilyResult = { agree: totals.agree, total: totals.total - refusedComparisons };
  const pct = (r: FamilyResult): string => (r.total === 0 ? '-' : `${((100 * r.agree) / r.total).toFixed(1)}%`);
  const lines = [
    `configs Proxmox builds: ${buildable}, Corral builds: ${built}; configs Proxmox refuses: ${mustRefuse}, Corral refuses: ${refused}`,
    ...FAMILIES.map((f) => `${f.padEnd(8)} ${String(perFamily[f].agree).padStart(4)}/${String(perFamily[f].total).padEnd(4)} ${pct(perFamily[f])}`),
    `all      ${String(totals.agree).padStart(4)}/${String(totals.total).padEnd(4)} ${pct(totals)}`,
    `in the configs both build: ${amongBuilt.agree}/${amongBuilt.total} ${pct(amongBuilt)}`,
  ];
  for (const l of lines) t.log(l);
  for (const r of refusedWrongly) t.log(`refused, Proxmox builds it: ${r}`);
  for (const r of acceptedWrongly) t.log(`built, Proxmox refuses it: ${r}`);
  if (process.env.CORRAL_COMPAT_REPORT) writeFileSync(process.env.CORRAL_COMPAT_REPORT, JSON.stringify({ summary: lines, perFamily, cases: report }, null, 2));

  t.true(corpus.length > 90, 'the corpus is in the fixtures folder');
  const floor = JSON.parse(readFileSync(FLOOR_FILE, 'utf8')) as AgreementFloor;
  const regressions: string[] = [];
  for (const [name, families] of Object.entries(floor.agree)) {
    const now = new Set(agreeNow[name] ?? []);
    const why = name in agreeNow ? '' : ` (${refusedWrongly.find((r) => r.startsWith(`${name}: `)) ?? 'not in the corpus'})`;
    for (const f of families) if (!now.has(f)) regressions.push(`${name} × ${f}${why}`);
  }
  for (const name of floor.refused) if (!refusedNow.includes(name)) regressions.push(`${name}: Proxmox refuses it and Corral did, now builds it`);
  const gained = Object.entries(agreeNow).flatMap(([name, families]) => families.filter((f) => !floor.agree[name]?.includes(f)).map((f) => `${name} × ${f}`));
  gained.push(...refusedNow.filter((n) => !floor.refused.includes(n)).map((n) => `${n} (refused, as Proxmox)`));
  if (gained.length > 0) t.log(`new agreements, not in the floor yet (CORRAL_COMPAT_UPDATE_FLOOR=1 adds them): ${gained.join(', ')}`);
  if (process.env.CORRAL_COMPAT_UPDATE_FLOOR === '1' && regressions.length === 0) {
    // One line per config, so that a diff of the floor reads config by config.
    const agreeLines = Object.keys(agreeNow).sort().map((n) => `    ${JSON.stringify(n)}: ${JSON.stringify(agreeNow[n])}`);
    const text = ['{', `  "about": ${JSON.stringify(floor.about)},`, `  "refused": ${JSON.stringify([...refusedNow].sort())},`, '  "agree": {', agreeLines.join(',\n'), '  }', '}', ''].join('\n');
    writeFileSync(FLOOR_FILE, text);
    t.log(`floor rewritten: ${FLOOR_FILE}`);
  }
  t.deepEqual(regressions, [], `(config × family) pairs in the floor that no longer agree:\n${regressions.join('\n')}`);
});
