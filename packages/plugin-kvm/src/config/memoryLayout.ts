/**
 * qemu-server's memory layout arithmetic: the static memory of a VM with memory hotplug, the
 * DIMMs that make up the rest, and the guest NUMA nodes the RAM is split into. Pure.
 *
 * @packageDocumentation
 */
import type { QemuMemorySpec } from './QemuConfig.js';

/** Static memory of a VM with memory hotplug, MiB (per socket with 1 GiB pages). */
export const HOTPLUG_STATIC_MEMORY_MIB = 1024;

/** One hot-pluggable DIMM: `dimmN`, its size (MiB) and its guest NUMA node. */
export interface DimmSpec {
  readonly id: string;
  readonly sizeMiB: number;
  readonly node: number;
}

/** One guest NUMA node as the command line builds it (custom or one per socket). */
export interface NumaNodeLayout {
  readonly index: number;
  /** vCPU ranges, inclusive. */
  readonly cpus: ReadonlyArray<readonly [number, number]>;
  readonly memoryMiB: number;
  readonly hostNodes?: ReadonlyArray<readonly [number, number]>;
  readonly policy?: string;
}

/** The RAM the VM starts with outside DIMMs, MiB: all of it without memory hotplug. */
export function staticMemoryMiB(spec: QemuMemorySpec, memoryMiB: number, sockets: number): number {
  if (!spec.hotplug) return memoryMiB;
  return spec.hugepages === 1024 ? HOTPLUG_STATIC_MEMORY_MIB * sockets : HOTPLUG_STATIC_MEMORY_MIB;
}

/** The guest NUMA node ids DIMMs are spread over (the custom nodes, else one per socket). */
function dimmNodes(spec: QemuMemorySpec, sockets: number): number[] {
  return spec.nodes.length > 0 ? spec.nodes.map((n) => n.index) : Array.from({ length: sockets }, (_, i) => i);
}

/**
 * The DIMMs of a VM with memory hotplug and `memoryMiB` of RAM, as qemu-server lays them out:
 * 32 DIMMs of 512 MiB (1 GiB with 1 GiB pages), then 32 of twice that size, and so on (8
 * rounds), round-robin over the NUMA nodes, until the static memory plus the DIMMs reach
 * `memoryMiB`. The last DIMM may overshoot (the parser refuses such a size). Empty without hotplug.
 */
export function dimmLayout(spec: QemuMemorySpec, memoryMiB: number, sockets: number): DimmSpec[] {
  if (!spec.hotplug) return [];
  const nodes = dimmNodes(spec, sockets);
  const out: DimmSpec[] = [];
  let current = staticMemoryMiB(spec, memoryMiB, sockets);
  if (current >= memoryMiB) return out;
  let size = spec.hugepages === 1024 ? 1024 : 512;
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < 32; i++) {
      out.push({ id: `dimm${out.length}`, sizeMiB: size, node: nodes[i % nodes.length]! });
      current += size;
      if (current >= memoryMiB) return out;
    }
    size *= 2;
  }
  return out;
}

/** The guest NUMA nodes of a `numa: 1` VM: the custom `numaN` nodes, else its static memory split evenly over one node per socket. */
export function numaNodeLayout(spec: QemuMemorySpec, memoryMiB: number, sockets: number, cores: number): NumaNodeLayout[] {
  if (!spec.numa) return [];
  if (spec.nodes.length > 0) return spec.nodes.map((n) => ({ index: n.index, cpus: n.cpus, memoryMiB: n.memoryMiB, hostNodes: n.hostNodes, policy: n.policy }));
  const perNode = staticMemoryMiB(spec, memoryMiB, sockets) / sockets;
  return Array.from({ length: sockets }, (_, i) => ({ index: i, cpus: [[cores * i, cores * i + cores - 1] as const], memoryMiB: perNode }));
}
