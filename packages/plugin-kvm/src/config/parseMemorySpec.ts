/**
 * `numa`, `numaN`, `hugepages`, `keephugepages` and `hotplug: memory`: checked together, with
 * qemu-server's rules (which it applies at start; Corral refuses them when the config is set).
 *
 * @packageDocumentation
 */
import { InvalidConfigError, parsePropertyString, type GuestConfigEntries } from '@corral/core';
import type { QemuIdRange, QemuMemorySpec, QemuNumaNodeSpec } from './QemuConfig.js';
import { dimmLayout, staticMemoryMiB } from './memoryLayout.js';

/** qemu-server's limit on `numaN` keys. */
export const MAX_NUMA_NODES = 8;

/**
 * The memory layout of a config whose `memory` (MiB) and `sockets` are parsed already.
 *
 * @throws InvalidConfigError naming the key: `hugepages` or `hotplug: memory` without
 *   `numa: 1`, memory hotplug with a custom topology or below its static memory or not made
 *   of whole DIMMs, a `numaN` without `cpus` or `memory`, node memory that does not add up to
 *   `memory`, host nodes without a policy, huge pages on a custom node without host nodes.
 */
export function parseMemorySpec(entries: GuestConfigEntries, memoryMiB: number, sockets: number, hotplugMemory: boolean): QemuMemorySpec {
  const numa = entries.numa === '1';
  const hugepages = entries.hugepages === undefined ? undefined : entries.hugepages === 'any' ? 'any' : (Number(entries.hugepages) as 2 | 1024);
  const nodes: QemuNumaNodeSpec[] = [];
  for (let i = 0; i < MAX_NUMA_NODES; i++) {
    const raw = entries[`numa${i}`];
    if (raw !== undefined) nodes.push(parseNumaNode(`numa${i}`, raw, i, numa));
  }
  for (const key of Object.keys(entries)) {
    if (/^numa\d+$/.test(key) && Number(key.slice(4)) >= MAX_NUMA_NODES) throw new InvalidConfigError(key, entries[key], `'${key}' is not a NUMA node key (numa0 to numa${MAX_NUMA_NODES - 1})`);
  }
  const spec: QemuMemorySpec = { numa, nodes: numa ? nodes : [], hugepages, keepHugepages: entries.keephugepages === '1', hotplug: hotplugMemory };
  if (hugepages !== undefined && !numa) throw new InvalidConfigError('hugepages', entries.hugepages, `'hugepages' needs 'numa: 1'`);
  if (hotplugMemory) {
    if (!numa) throw new InvalidConfigError('hotplug', entries.hotplug, `'hotplug: memory' needs 'numa: 1'`);
    if (spec.nodes.length > 0) throw new InvalidConfigError('hotplug', entries.hotplug, `'hotplug: memory' cannot be combined with a custom NUMA topology (${spec.nodes.map((n) => `numa${n.index}`).join(', ')})`);
    const base = staticMemoryMiB(spec, memoryMiB, sockets);
    if (memoryMiB < base) throw new InvalidConfigError('memory', entries.memory, `invalid value for 'memory': memory hotplug needs at least ${base} MiB`);
    const dimms = dimmLayout(spec, memoryMiB, sockets);
    const total = base + dimms.reduce((sum, d) => sum + d.sizeMiB, 0);
    if (total !== memoryMiB) {
      throw new InvalidConfigError('memory', entries.memory, `invalid value for 'memory': ${memoryMiB} MiB is not ${base} MiB plus whole DIMMs (the nearest sizes are ${total - (dimms.at(-1)?.sizeMiB ?? 0)} and ${total} MiB)`);
    }
  }
  if (numa && spec.nodes.length === 0 && staticMemoryMiB(spec, memoryMiB, sockets) % sockets !== 0) {
    throw new InvalidConfigError('memory', entries.memory, `invalid value for 'memory': with 'numa: 1' the memory is split over ${sockets} sockets and must divide evenly`);
  }
  if (spec.nodes.length > 0) {
    const total = spec.nodes.reduce((sum, n) => sum + n.memoryMiB, 0);
    if (total !== memoryMiB) throw new InvalidConfigError(`numa${spec.nodes.at(-1)!.index}`, undefined, `the NUMA nodes' memory adds up to ${total} MiB, not 'memory' (${memoryMiB} MiB)`);
    for (const n of spec.nodes) {
      if (hugepages !== undefined && n.hostNodes === undefined) {
        throw new InvalidConfigError(`numa${n.index}`, entries[`numa${n.index}`], `invalid value for 'numa${n.index}': huge pages need 'hostnodes' on every NUMA node`);
      }
    }
  }
  return spec;
}

function parseNumaNode(key: string, raw: string, index: number, numa: boolean): QemuNumaNodeSpec {
  const r = parsePropertyString(raw, { keys: ['cpus', 'hostnodes', 'memory', 'policy'] }, { key });
  // qemu-server reads numaN only with numa: 1; then cpus and memory are required.
  if (numa && r.cpus === undefined) throw new InvalidConfigError(key, raw, `invalid value for '${key}': 'cpus' is required`);
  if (numa && r.memory === undefined) throw new InvalidConfigError(key, raw, `invalid value for '${key}': 'memory' is required`);
  if (r.hostnodes !== undefined && r.policy === undefined) throw new InvalidConfigError(key, raw, `invalid value for '${key}': 'hostnodes' needs a 'policy'`);
  return {
    index,
    cpus: r.cpus === undefined ? [] : idRanges(key, raw, r.cpus),
    memoryMiB: r.memory === undefined ? 0 : Number(r.memory),
    hostNodes: r.hostnodes === undefined ? undefined : idRanges(key, raw, r.hostnodes),
    policy: r.policy as QemuNumaNodeSpec['policy'],
  };
}

/** `0-3;8` as ranges. Core's schema has checked the syntax; here the order of each range. */
function idRanges(key: string, raw: string, text: string): QemuIdRange[] {
  return text.split(';').map((part) => {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    if (b !== undefined && b < a) throw new InvalidConfigError(key, raw, `invalid value for '${key}': range '${part}' ends before it starts`);
    return [a, b ?? a] as const;
  });
}
