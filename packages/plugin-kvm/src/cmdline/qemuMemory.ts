/**
 * The memory part of the command line, as qemu-server builds it: `-m` (with `slots` and
 * `maxmem` under memory hotplug), one memory backend and `-numa node` per guest NUMA node,
 * huge pages through `memory-backend-file` on Proxmox's hugetlbfs mounts, and a `pc-dimm`
 * per hot-pluggable DIMM. Also the huge pages a VM needs per host node (for allocation).
 *
 * @packageDocumentation
 */
import { InvalidConfigError, UnavailableError } from '@corral/core';
import type { QemuConfig } from '../config/QemuConfig.js';
import { dimmLayout, numaNodeLayout, staticMemoryMiB } from '../config/memoryLayout.js';

/** What the memory layout needs from the host. */
export interface MemoryHostFacts {
  /** Physical address bits of the host CPU (`/proc/cpuinfo` "address sizes"); unknown: 36, as qemu-server. */
  readonly physAddressBits?: number;
  /** Huge page sizes the kernel offers, KiB (`/sys/kernel/mm/hugepages`). Unknown: 2 MiB and 1 GiB. */
  readonly hugepageSizesKiB?: readonly number[];
  /** Host NUMA node ids (`/sys/devices/system/node`). Unknown: not checked. */
  readonly numaNodes?: readonly number[];
}

/** Where qemu-server mounts hugetlbfs for a page size (KiB). */
export function hugepageMountPath(sizeKiB: number): string {
  return `/run/hugepages/kvm/${sizeKiB}kB`;
}

/**
 * The most RAM memory hotplug can reach, MiB, as qemu-server bounds it: from the CPU's
 * physical address bits (`phys-bits`, else the host's, capped at 40 unless the model is
 * `host`/`max`), rounded down to even, minus 21 bits, at most 4 TiB.
 */
export function maxMemoryMiB(c: QemuConfig, host: MemoryHostFacts): number {
  const hostBits = host.physAddressBits ?? 36;
  let bits: number;
  if (c.cpu.physBits === 'host') bits = hostBits;
  else if (c.cpu.physBits !== undefined) bits = c.cpu.physBits;
  else bits = c.cpu.type === 'host' || c.cpu.type === 'max' ? hostBits : Math.min(hostBits, 40);
  bits &= ~1;
  return Math.min(2 ** (bits - 21), 4 * 1024 * 1024);
}

/**
 * The huge page size (MiB) for a backend of `sizeMiB`: the configured one, or with `any` 1 GiB
 * when the size is whole GiB and the host has them, else 2 MiB.
 * @throws UnavailableError when the host lacks the size; InvalidConfigError (`hugepages`) when the size does not divide `sizeMiB`.
 */
function hugepageSizeMiB(c: QemuConfig, sizeMiB: number, host: MemoryHostFacts): 2 | 1024 {
  const offered = (mib: number): boolean => host.hugepageSizesKiB === undefined || host.hugepageSizesKiB.includes(mib * 1024);
  if (!offered(2) && !offered(1024)) throw new UnavailableError('hugepages', 'this host offers no huge pages (no /sys/kernel/mm/hugepages)');
  const want = c.memory.hugepages!;
  if (want === 'any') {
    if (offered(1024) && sizeMiB % 1024 === 0) return 1024;
    if (offered(2) && sizeMiB % 2 === 0) return 2;
    throw new InvalidConfigError('hugepages', 'any', `invalid value for 'hugepages': ${sizeMiB} MiB cannot be made of the huge pages this host offers`);
  }
  if (!offered(want)) throw new UnavailableError('hugepages', `this host offers no ${want} MiB huge pages`);
  if (sizeMiB % want !== 0) throw new InvalidConfigError('hugepages', String(want), `invalid value for 'hugepages': ${sizeMiB} MiB is not a multiple of ${want} MiB pages`);
  return want;
}

function memoryBackend(c: QemuConfig, id: string, sizeMiB: number, host: MemoryHostFacts): string {
  if (c.memory.hugepages === undefined) return `memory-backend-ram,id=${id},size=${sizeMiB}M`;
  const page = hugepageSizeMiB(c, sizeMiB, host);
  return `memory-backend-file,id=${id},size=${sizeMiB}M,mem-path=${hugepageMountPath(page * 1024)},share=on,prealloc=yes`;
}

function ranges(list: ReadonlyArray<readonly [number, number]>): string[] {
  return list.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`));
}

/**
 * The `-m`, `-object`, `-numa` and `pc-dimm` arguments of `c`.
 * @throws InvalidConfigError (`memory`) above the hotplug maximum; UnavailableError when a
 *   host NUMA node or huge page size the config needs does not exist here.
 */
export function memoryArgs(c: QemuConfig, host: MemoryHostFacts): string[] {
  const out: string[] = [];
  const base = staticMemoryMiB(c.memory, c.memoryMiB, c.sockets);
  if (c.memory.hotplug) {
    const max = maxMemoryMiB(c, host);
    if (c.memoryMiB > max) throw new InvalidConfigError('memory', String(c.memoryMiB), `invalid value for 'memory': ${c.memoryMiB} MiB is more than memory hotplug can reach here (${max} MiB)`);
    out.push('-m', `size=${base},slots=255,maxmem=${max}M`);
  } else {
    out.push('-m', String(c.memoryMiB));
  }
  for (const n of numaNodeLayout(c.memory, c.memoryMiB, c.sockets, c.cores)) {
    let backend = memoryBackend(c, `ram-node${n.index}`, n.memoryMiB, host);
    if (n.hostNodes) {
      for (const [a, b] of n.hostNodes) for (let h = a; h <= b; h++) checkHostNode(host, h, `numa${n.index}`);
      backend += `,host-nodes=${ranges(n.hostNodes).join(',')},policy=${n.policy}`;
    } else if (c.memory.hugepages !== undefined) {
      checkHostNode(host, n.index, 'hugepages');
    }
    out.push('-object', backend, '-numa', `node,nodeid=${n.index},cpus=${ranges(n.cpus).join(',cpus=')},memdev=ram-node${n.index}`);
  }
  for (const d of dimmLayout(c.memory, c.memoryMiB, c.sockets)) {
    out.push('-object', memoryBackend(c, `mem-${d.id}`, d.sizeMiB, host), '-device', `pc-dimm,id=${d.id},memdev=mem-${d.id},node=${d.node}`);
  }
  return out;
}

function checkHostNode(host: MemoryHostFacts, node: number, key: string): void {
  if (host.numaNodes !== undefined && !host.numaNodes.includes(node)) {
    throw new UnavailableError('numa', `'${key}' needs host NUMA node ${node}, which this host does not have (nodes: ${host.numaNodes.join(', ')})`);
  }
}

/**
 * The huge pages `c` needs: count by page size (KiB) and host NUMA node. A custom node takes
 * its pages from its (single) host node; otherwise guest node N takes them from host node N,
 * as qemu-server maps them. Empty without `hugepages`.
 * @throws InvalidConfigError (`numaN`) when a custom node with huge pages names more than one host node.
 */
export function hugepageDemand(c: QemuConfig, host: MemoryHostFacts): Map<number, Map<number, number>> {
  const out = new Map<number, Map<number, number>>();
  if (c.memory.hugepages === undefined) return out;
  const add = (sizeMiB: number, hostNode: number): void => {
    const page = hugepageSizeMiB(c, sizeMiB, host);
    const byNode = out.get(page * 1024) ?? new Map<number, number>();
    byNode.set(hostNode, (byNode.get(hostNode) ?? 0) + sizeMiB / page);
    out.set(page * 1024, byNode);
  };
  const nodes = numaNodeLayout(c.memory, c.memoryMiB, c.sockets, c.cores);
  const hostOf = new Map<number, number>();
  for (const n of nodes) {
    let hostNode = n.index;
    if (n.hostNodes) {
      const [a, b] = n.hostNodes[0]!;
      if (n.hostNodes.length > 1 || a !== b) throw new InvalidConfigError(`numa${n.index}`, undefined, `invalid value for 'numa${n.index}': with huge pages a NUMA node takes one host node`);
      hostNode = a;
    }
    hostOf.set(n.index, hostNode);
    add(n.memoryMiB, hostNode);
  }
  for (const d of dimmLayout(c.memory, c.memoryMiB, c.sockets)) add(d.sizeMiB, hostOf.get(d.node) ?? d.node);
  return out;
}
