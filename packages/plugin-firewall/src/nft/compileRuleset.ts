/**
 * The compiler FirewallRuleset → one nftables JSON transaction.
 *
 * Layout (see the package README for why):
 * - `bridge corral`: at prerouting and forward (priority -300, before br_netfilter hands the
 *   frame to the IP hooks) the packet's mark is set to the id of its input port (prerouting)
 *   or output port (forward) from the map `port-ids`; 0 for ports that are not firewalled.
 *   Prerouting also jumps to the port's `port-<name>` chain (macfilter, ipfilter).
 * - `inet corral`: `prerouting` (after conntrack) dispatches marked packets through the map
 *   `guest-out` to the guest's OUT chain; `forward` dispatches through `guest-in` to the IN
 *   chain of the guest behind the output port. Both are stateful (established/related
 *   accepted, invalid dropped). `input`/`output` carry the host rules and policies.
 * Every guest owns exactly: its chains `guest-<vmid>-in/out`, its ports' `port-<name>` chains
 * and its ports' elements in the four maps, so one guest is replaced without touching others.
 *
 * @packageDocumentation
 */
import {
  InvalidConfigError,
  type FirewallAction,
  type FirewallGuestNic,
  type FirewallGuestRuleset,
  type FirewallLogLevel,
  type FirewallRule,
  type FirewallRuleset,
} from '@corral/core';
import { ipsetRanges, parseAddressRange, rangeExpression } from './addressRanges.js';
import { compileRule, logStatement, verdictOf } from './compileRule.js';
import type { NftChain, NftCommand, NftExpression, NftFamily, NftStatement } from './nftJson.js';
import {
  GUEST_IN_MAP,
  GUEST_OUT_MAP,
  PORT_CHECK_MAP,
  PORT_IDS_MAP,
  REJECT_CHAIN,
  TABLE,
  checkGroupName,
  checkIpsetName,
  checkPortName,
  groupChain,
  guestChain,
  ipsetSet,
  portCheckChain,
} from './nftNames.js';

/** Options of {@link compileRuleset}. */
export interface CompileOptions {
  /** Port ids to keep (port name → id ≥ 1); ports not in it get the lowest free ids. */
  readonly portIds?: ReadonlyMap<string, number>;
}

/** A compiled rule set: the transaction and the port ids it assigned. */
export interface CompiledRuleset {
  readonly commands: NftCommand[];
  readonly portIds: ReadonlyMap<string, number>;
}

/** A guest's part of a compiled rule set. */
export interface GuestObjects {
  /** Chains (inet and bridge) with their rules, as add commands. */
  readonly chains: NftCommand[];
  /** Map elements per (family, map name). */
  readonly elements: ReadonlyArray<{ family: NftFamily; map: string; elem: NftExpression[] }>;
}

const add = (o: NftCommand extends infer C ? (C extends { add: infer O } ? O : never) : never): NftCommand => ({ add: o });

function chainCmd(family: NftFamily, name: string, base?: Pick<NftChain, 'hook' | 'prio' | 'policy'>): NftCommand {
  return add({ chain: { family, table: TABLE, name, ...(base ? { type: 'filter' as const, ...base } : {}) } });
}

function ruleCmd(family: NftFamily, chain: string, expr: NftStatement[]): NftCommand {
  return add({ rule: { family, table: TABLE, chain, expr } });
}

const ctState = (states: string | string[]): NftStatement => ({ match: { op: 'in', left: { ct: { key: 'state' } }, right: states } });
const meta = (key: string): NftExpression => ({ meta: { key } });

/** The NICs of a guest: `nics`, or one per port with the NIC key read from the name (`tap100i1` → `net1`). */
export function guestNics(guest: FirewallGuestRuleset): readonly FirewallGuestNic[] {
  if (guest.nics) return guest.nics;
  return guest.ports.map((port) => {
    const m = /i(\d+)$/.exec(port);
    return { iface: m ? `net${m[1]}` : port, port };
  });
}

function checkAction(action: FirewallAction, key: string): void {
  verdictOf(action, key);
}

/** Statements that end a chain with policy `action` (logged at `level` unless ACCEPT). */
function policyTail(ruleset: FirewallRuleset, action: FirewallAction, level: FirewallLogLevel | undefined, vmid: number, chain: string, key: string): NftStatement[] {
  const log = action === 'ACCEPT' ? [] : logStatement(level, ruleset, vmid, chain, `policy ${action}`);
  return [...log, verdictOf(action, key)];
}

function assignPortIds(ruleset: FirewallRuleset, keep: ReadonlyMap<string, number> | undefined): Map<string, number> {
  const ids = new Map<string, number>();
  const used = new Set<number>();
  const wanted = new Set<string>();
  for (const guest of ruleset.guests) {
    for (const nic of guestNics(guest)) {
      if (ids.has(nic.port) || wanted.has(nic.port)) throw new InvalidConfigError(`guest ${guest.vmid}`, nic.port, `port '${nic.port}' belongs to more than one NIC`);
      const id = keep?.get(nic.port);
      if (id !== undefined && !used.has(id)) {
        ids.set(nic.port, id);
        used.add(id);
      } else wanted.add(nic.port);
    }
  }
  let next = 1;
  for (const port of wanted) {
    while (used.has(next)) next += 1;
    ids.set(port, next);
    used.add(next);
  }
  return ids;
}

const udpPorts = (sport: number, dport: number, nfproto: 'ipv4' | 'ipv6'): NftStatement[] => [
  { match: { op: '==', left: meta('nfproto'), right: nfproto } },
  { match: { op: '==', left: { payload: { protocol: 'udp', field: 'sport' } }, right: sport } },
  { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: dport } },
];
const icmpv6Type = (type: string): NftStatement => ({ match: { op: '==', left: { payload: { protocol: 'icmpv6', field: 'type' } }, right: type } });

/**
 * What Proxmox puts before a guest's own rules (`ruleset_create_vm_chain`): DHCP (option
 * `dhcp`, default on), router advertisements from the guest dropped unless `radv`, and
 * neighbor discovery accepted (option `ndp`, default on). One rule each, no anonymous sets.
 */
function guestOptionRules(guest: FirewallGuestRuleset, dir: 'in' | 'out'): NftStatement[][] {
  const out: NftStatement[][] = [];
  const accept: NftStatement = { accept: null };
  if (guest.dhcp !== false) {
    out.push([...(dir === 'out' ? udpPorts(68, 67, 'ipv4') : udpPorts(67, 68, 'ipv4')), accept]);
    out.push([...(dir === 'out' ? udpPorts(546, 547, 'ipv6') : udpPorts(547, 546, 'ipv6')), accept]);
  }
  if (dir === 'out' && !guest.radv) out.push([icmpv6Type('nd-router-advert'), { drop: null }]);
  if (guest.ndp !== false) {
    const types = ['nd-router-solicit', ...(dir === 'in' || guest.radv ? ['nd-router-advert'] : []), 'nd-neighbor-solicit', 'nd-neighbor-advert'];
    for (const type of types) out.push([icmpv6Type(type), accept]);
  }
  return out;
}

/**
 * The chains, rules and map elements of one guest. `portIds` must hold an id for each of
 * its ports. A disabled guest has no chains and no elements (its traffic passes unfiltered,
 * as on Proxmox).
 */
export function compileGuest(ruleset: FirewallRuleset, guest: FirewallGuestRuleset, portIds: ReadonlyMap<string, number>): GuestObjects {
  const key = `guest ${guest.vmid}`;
  if (!Number.isInteger(guest.vmid) || guest.vmid < 1) throw new InvalidConfigError('vmid', guest.vmid, `vmid '${guest.vmid}' is not a positive integer`);
  if (!guest.enabled) return { chains: [], elements: [] };
  checkAction(guest.policyIn, `${key}.policyIn`);
  checkAction(guest.policyOut, `${key}.policyOut`);
  const nics = guestNics(guest);
  const chains: NftCommand[] = [];
  const portIdsElem: NftExpression[] = [];
  const portCheckElem: NftExpression[] = [];
  const outElem: NftExpression[] = [];
  const inElem: NftExpression[] = [];
  const marksOf = new Map<string, number[]>();
  for (const nic of nics) {
    checkPortName(nic.port, `${key}.${nic.iface}`);
    const id = portIds.get(nic.port);
    if (id === undefined) throw new InvalidConfigError(`${key}.${nic.iface}`, nic.port, `no port id for '${nic.port}'`);
    marksOf.set(nic.iface, [...(marksOf.get(nic.iface) ?? []), id]);
    const check = portCheckChain(nic.port);
    chains.push(chainCmd('bridge', check));
    if (nic.mac !== undefined) {
      if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(nic.mac)) throw new InvalidConfigError(`${key}.${nic.iface}.mac`, nic.mac, `${key}: '${nic.mac}' is not a MAC address`);
      chains.push(ruleCmd('bridge', check, [{ match: { op: '!=', left: { payload: { protocol: 'ether', field: 'saddr' } }, right: nic.mac.toLowerCase() } }, { drop: null }]));
    }
    if (nic.ipfilter !== undefined) {
      for (const entry of nic.ipfilter) {
        const r = parseAddressRange(entry, `${key}.${nic.iface}.ipfilter`);
        chains.push(
          ruleCmd('bridge', check, [
            { match: { op: '==', left: { payload: { protocol: r.family === 4 ? 'ip' : 'ip6', field: 'saddr' } }, right: rangeExpression(r) } },
            { return: null },
          ])
        );
      }
      for (const proto of ['ip', 'ip6']) chains.push(ruleCmd('bridge', check, [{ match: { op: '==', left: meta('protocol'), right: proto } }, { drop: null }]));
    }
    portIdsElem.push([nic.port, id]);
    portCheckElem.push([nic.port, { jump: { target: check } }]);
    outElem.push([id, { jump: { target: guestChain(guest.vmid, 'out') } }]);
    inElem.push([id, { jump: { target: guestChain(guest.vmid, 'in') } }]);
  }
  for (const dir of ['in', 'out'] as const) {
    const chain = guestChain(guest.vmid, dir);
    chains.push(chainCmd('inet', chain));
    for (const body of guestOptionRules(guest, dir)) chains.push(ruleCmd('inet', chain, body));
    guest.rules.forEach((rule, i) => {
      if (rule.direction === 'forward') throw new InvalidConfigError(`${key} rule ${i + 1}.direction`, rule.direction, `${key} rule ${i + 1}: guests have no forward rules`);
      if (rule.direction !== dir && !rule.group) return;
      for (const body of compileRule(rule, { ruleset, direction: dir, vmid: guest.vmid, chain, key: `${key} rule ${i + 1}`, nicMarks: (iface) => marksOf.get(iface) })) {
        chains.push(ruleCmd('inet', chain, body));
      }
    });
    const policy = dir === 'in' ? guest.policyIn : guest.policyOut;
    chains.push(ruleCmd('inet', chain, policyTail(ruleset, policy, dir === 'in' ? guest.logLevelIn : guest.logLevelOut, guest.vmid, chain, `${key}.policy`)));
  }
  return {
    chains,
    elements: [
      { family: 'bridge', map: PORT_IDS_MAP, elem: portIdsElem },
      { family: 'bridge', map: PORT_CHECK_MAP, elem: portCheckElem },
      { family: 'inet', map: GUEST_OUT_MAP, elem: outElem },
      { family: 'inet', map: GUEST_IN_MAP, elem: inElem },
    ].filter((e) => e.elem.length > 0) as GuestObjects['elements'],
  };
}

/** Commands that remove both tables if they exist (add, then delete: idempotent in one transaction). */
export function removeTablesCommands(): NftCommand[] {
  return (['inet', 'bridge'] as const).flatMap((family) => [add({ table: { family, name: TABLE } }), { delete: { table: { family, name: TABLE } } }]);
}

function hostChain(ruleset: FirewallRuleset, name: 'input' | 'output', hook: 'input' | 'output'): NftCommand[] {
  const cmds: NftCommand[] = [chainCmd('inet', name, { hook, prio: 0, policy: 'accept' })];
  const lo: NftStatement = { match: { op: '==', left: meta(hook === 'input' ? 'iifname' : 'oifname'), right: 'lo' } };
  cmds.push(ruleCmd('inet', name, [lo, { accept: null }]));
  cmds.push(ruleCmd('inet', name, [ctState(['established', 'related']), { accept: null }]));
  if (!ruleset.allowInvalid) cmds.push(ruleCmd('inet', name, [ctState('invalid'), { drop: null }]));
  const dir = hook === 'input' ? 'in' : 'out';
  if (ruleset.ndp !== false) {
    // As pve-firewall's host chains: RS, NS, NA both ways, RA only in.
    const types = ['nd-router-solicit', ...(dir === 'in' ? ['nd-router-advert'] : []), 'nd-neighbor-solicit', 'nd-neighbor-advert'];
    for (const type of types) cmds.push(ruleCmd('inet', name, [icmpv6Type(type), { accept: null }]));
  }
  ruleset.hostRules.forEach((rule, i) => {
    if (rule.direction !== dir && !rule.group) return;
    for (const body of compileRule(rule, { ruleset, direction: dir, vmid: 0, chain: name, key: `host rule ${i + 1}` })) cmds.push(ruleCmd('inet', name, body));
  });
  const policy = dir === 'in' ? ruleset.policyIn : ruleset.policyOut;
  checkAction(policy, `host.policy${dir === 'in' ? 'In' : 'Out'}`);
  cmds.push(ruleCmd('inet', name, policyTail(ruleset, policy, dir === 'in' ? ruleset.logLevelIn : ruleset.logLevelOut, 0, name, `host.policy${dir === 'in' ? 'In' : 'Out'}`)));
  return cmds;
}

function mapCmd(family: NftFamily, name: string, type: string, data: string): NftCommand {
  return add({ map: { family, table: TABLE, name, type, map: data } });
}

/**
 * Compiles a whole rule set into one transaction that replaces everything the backend
 * installed (both tables are removed and rebuilt inside the same transaction, so the old rule
 * set stays active if any command fails). A disabled rule set compiles to the removal only.
 * Throws `InvalidConfigError` naming the rule, guest, ipset or group that is wrong.
 */
export function compileRuleset(ruleset: FirewallRuleset, options: CompileOptions = {}): CompiledRuleset {
  const cmds: NftCommand[] = removeTablesCommands();
  if (!ruleset.enabled) return { commands: cmds, portIds: new Map() };
  const portIds = assignPortIds(ruleset, options.portIds);
  for (const family of ['inet', 'bridge'] as const) cmds.push(add({ table: { family, name: TABLE } }));
  // Bridge: marks from ports, source checks.
  cmds.push(mapCmd('bridge', PORT_IDS_MAP, 'ifname', 'mark'), mapCmd('bridge', PORT_CHECK_MAP, 'ifname', 'verdict'));
  cmds.push(chainCmd('bridge', 'prerouting', { hook: 'prerouting', prio: -300, policy: 'accept' }));
  cmds.push(ruleCmd('bridge', 'prerouting', [{ mangle: { key: meta('mark'), value: 0 } }]));
  cmds.push(ruleCmd('bridge', 'prerouting', [{ mangle: { key: meta('mark'), value: { map: { key: meta('iifname'), data: `@${PORT_IDS_MAP}` } } } }]));
  cmds.push(ruleCmd('bridge', 'prerouting', [{ vmap: { key: meta('iifname'), data: `@${PORT_CHECK_MAP}` } }]));
  cmds.push(chainCmd('bridge', 'forward', { hook: 'forward', prio: -300, policy: 'accept' }));
  cmds.push(ruleCmd('bridge', 'forward', [{ mangle: { key: meta('mark'), value: 0 } }]));
  cmds.push(ruleCmd('bridge', 'forward', [{ mangle: { key: meta('mark'), value: { map: { key: meta('oifname'), data: `@${PORT_IDS_MAP}` } } } }]));
  // Inet: sets, reject, groups, dispatch, host chains.
  for (const [name, entries] of Object.entries(ruleset.ipsets)) {
    checkIpsetName(name, `ipset ${name}`);
    const ranges = ipsetRanges(entries, `ipset ${name}`);
    for (const family of [4, 6] as const) {
      const list = family === 4 ? ranges.v4 : ranges.v6;
      cmds.push(
        add({
          set: {
            family: 'inet',
            table: TABLE,
            name: ipsetSet(name, family),
            type: family === 4 ? 'ipv4_addr' : 'ipv6_addr',
            flags: ['interval'],
            ...(list.length > 0 ? { elem: list.map(rangeExpression) } : {}),
          },
        })
      );
    }
  }
  cmds.push(chainCmd('inet', REJECT_CHAIN));
  cmds.push(ruleCmd('inet', REJECT_CHAIN, [{ match: { op: '==', left: meta('l4proto'), right: 'tcp' } }, { reject: { type: 'tcp reset' } }]));
  cmds.push(ruleCmd('inet', REJECT_CHAIN, [{ reject: { type: 'icmpx', expr: 'port-unreachable' } }]));
  const groupRules: NftCommand[] = [];
  for (const [name, rules] of Object.entries(ruleset.groups)) {
    checkGroupName(name, `group ${name}`);
    for (const dir of ['in', 'out'] as const) {
      const chain = groupChain(name, dir);
      cmds.push(chainCmd('inet', chain));
      rules.forEach((rule: FirewallRule, i) => {
        if (rule.direction !== dir) return;
        if (rule.group) throw new InvalidConfigError(`group ${name} rule ${i + 1}`, rule.action, `group ${name} rule ${i + 1}: a security group cannot use another group`);
        for (const body of compileRule(rule, { ruleset, direction: dir, vmid: 0, chain, key: `group ${name} rule ${i + 1}` })) groupRules.push(ruleCmd('inet', chain, body));
      });
    }
  }
  cmds.push(...groupRules);
  cmds.push(mapCmd('inet', GUEST_OUT_MAP, 'mark', 'verdict'), mapCmd('inet', GUEST_IN_MAP, 'mark', 'verdict'));
  const unmarked: NftStatement = { match: { op: '==', left: meta('mark'), right: 0 } };
  for (const [name, hook, map] of [
    ['prerouting', 'prerouting', GUEST_OUT_MAP],
    ['forward', 'forward', GUEST_IN_MAP],
  ] as const) {
    cmds.push(chainCmd('inet', name, { hook, prio: 0, policy: 'accept' }));
    cmds.push(ruleCmd('inet', name, [unmarked, { accept: null }]));
    cmds.push(ruleCmd('inet', name, [ctState(['established', 'related']), { accept: null }]));
    if (!ruleset.allowInvalid) cmds.push(ruleCmd('inet', name, [ctState('invalid'), { drop: null }]));
    cmds.push(ruleCmd('inet', name, [{ vmap: { key: meta('mark'), data: `@${map}` } }]));
  }
  cmds.push(...hostChain(ruleset, 'input', 'input'), ...hostChain(ruleset, 'output', 'output'));
  const forwardRules = ruleset.hostRules.map((r, i) => [r, i] as const).filter(([r]) => r.direction === 'forward');
  if (forwardRules.length > 0) {
    cmds.push(chainCmd('inet', 'host-forward', { hook: 'forward', prio: -10, policy: 'accept' }));
    for (const [rule, i] of forwardRules) {
      for (const body of compileRule(rule, { ruleset, direction: 'forward', vmid: 0, chain: 'host-forward', key: `host rule ${i + 1}` }))
        cmds.push(ruleCmd('inet', 'host-forward', body));
    }
  }
  // Guests: chains first, then all elements of each map in one command (bulk load).
  const seen = new Set<number>();
  const elements = new Map<string, { family: NftFamily; map: string; elem: NftExpression[] }>();
  for (const guest of ruleset.guests) {
    if (seen.has(guest.vmid)) throw new InvalidConfigError('vmid', guest.vmid, `guest ${guest.vmid} appears twice`);
    seen.add(guest.vmid);
    const objs = compileGuest(ruleset, guest, portIds);
    cmds.push(...objs.chains);
    for (const e of objs.elements) {
      const k = `${e.family} ${e.map}`;
      const acc = elements.get(k) ?? { family: e.family, map: e.map, elem: [] };
      acc.elem.push(...e.elem);
      elements.set(k, acc);
    }
  }
  for (const e of elements.values()) cmds.push(add({ element: { family: e.family, table: TABLE, name: e.map, elem: e.elem } }));
  return { commands: cmds, portIds };
}
