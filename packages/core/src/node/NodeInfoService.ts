import * as os from 'node:os';
import type Systeminformation from 'systeminformation';

/** systeminformation is loaded on first use: it costs about 90 ms to import, which kernels that never ask for host facts should not pay. */
let siModule: Promise<typeof Systeminformation> | undefined;
function loadSi(): Promise<typeof Systeminformation> {
  siModule ??= import('systeminformation').then((m) => (m as unknown as { default: typeof Systeminformation }).default ?? m);
  return siModule;
}
import { UnavailableError } from '../errors.js';
import { silentLogger, type Logger } from '../util/Logger.js';

/** Static CPU facts. */
export interface NodeCpuInfo {
  readonly model: string;
  readonly vendor: string;
  /** Logical CPUs (threads), as `os.cpus().length`. */
  readonly cpus: number;
  /** Physical cores. */
  readonly cores: number;
  readonly sockets: number;
  /** Nominal speed in MHz (0 when the platform does not say). */
  readonly mhz: number;
  /** CPU flags (`vmx`/`svm` tell hardware virtualization). */
  readonly flags: readonly string[];
}

/** Memory and swap, bytes. `used` is `total - available`, as Proxmox reports it. */
export interface NodeMemory {
  readonly totalBytes: number;
  readonly usedBytes: number;
  readonly freeBytes: number;
  readonly availableBytes: number;
  readonly swapTotalBytes: number;
  readonly swapUsedBytes: number;
}

/** A mounted filesystem, bytes. */
export interface NodeFilesystem {
  readonly device: string;
  readonly type: string;
  readonly mount: string;
  readonly sizeBytes: number;
  readonly usedBytes: number;
  readonly availableBytes: number;
}

/** A block device (disk, partition, loop...). */
export interface NodeBlockDevice {
  readonly name: string;
  /** `disk`, `part`, `loop`, `rom`... */
  readonly type: string;
  readonly sizeBytes: number;
  readonly model: string;
  readonly serial: string;
  readonly fsType: string;
  readonly mount: string;
  readonly removable: boolean;
}

/** A network interface. */
export interface NodeNetworkInterface {
  readonly name: string;
  readonly mac: string;
  /** First IPv4 address and netmask ('' when none). */
  readonly ipv4: string;
  readonly ipv4Netmask: string;
  readonly ipv6: string;
  readonly mtu: number | null;
  /** Link speed in Mbit/s, when known. */
  readonly speedMbps: number | null;
  /** `up`, `down`, `unknown`... */
  readonly operstate: string;
  /** `wired`, `wireless`, `virtual`... */
  readonly type: string;
  readonly internal: boolean;
  readonly virtual: boolean;
  /** True for the interface of the default route. */
  readonly isDefault: boolean;
}

/** Kernel and distribution. */
export interface NodeOsInfo {
  readonly hostname: string;
  readonly kernel: string;
  readonly distro: string;
  readonly release: string;
  readonly arch: string;
}

/** Everything {@link NodeInfoService.status} reports. */
export interface NodeStatus {
  readonly cpuinfo: NodeCpuInfo;
  /** CPU usage of the whole host, fraction 0..1, over the time since the previous sample. */
  readonly cpu: number;
  /** 1, 5 and 15 minute load averages. */
  readonly loadavg: readonly [number, number, number];
  readonly memory: NodeMemory;
  readonly uptimeSec: number;
  readonly os: NodeOsInfo;
  readonly filesystems: readonly NodeFilesystem[];
  readonly blockDevices: readonly NodeBlockDevice[];
  readonly network: readonly NodeNetworkInterface[];
}

/** Cached sections and their default time-to-live, ms. */
export const NODE_INFO_TTL_MS = Object.freeze({
  cpuinfo: 3_600_000,
  os: 3_600_000,
  cpu: 5_000,
  memory: 2_000,
  filesystems: 30_000,
  blockDevices: 60_000,
  network: 60_000,
});

/** A cached section name. */
export type NodeInfoSection = keyof typeof NODE_INFO_TTL_MS;

/** Options of {@link NodeInfoService}. */
export interface NodeInfoServiceOptions {
  /** Per-section TTL overrides, ms. */
  readonly ttlMs?: Partial<Record<NodeInfoSection, number>>;
  /**
   * When a section has expired, return the old value at once and refresh it in the
   * background (default true). False: wait for the fresh value.
   */
  readonly staleWhileRevalidate?: boolean;
  readonly logger?: Logger;
}

interface Slot<T> {
  value?: T;
  fetchedAt: number;
  inflight?: Promise<T>;
}

/**
 * Host facts (CPU, memory, filesystems, block devices, network interfaces, load) through
 * `systeminformation`, cached per section with a TTL ({@link NODE_INFO_TTL_MS}) because some
 * calls are slow (the first CPU-usage sample about 0.5 s, interfaces about 0.25 s here).
 * Concurrent callers share one fetch; with `staleWhileRevalidate` (default) only the very
 * first call of a section waits, later ones get the cached value while it refreshes.
 * Load average and uptime come straight from the kernel (cheap, never cached).
 *
 * Note: `systeminformation` runs some programs itself (df, lsblk, ip...) outside the
 * CommandRunner.
 *
 * @throws UnavailableError from any section whose probe fails (when nothing is cached).
 */
export class NodeInfoService {
  readonly #ttl: Record<NodeInfoSection, number>;
  readonly #swr: boolean;
  readonly #logger: Logger;
  readonly #slots = new Map<NodeInfoSection, Slot<unknown>>();
  #refreshTimer: NodeJS.Timeout | undefined;

  constructor(options: NodeInfoServiceOptions = {}) {
    this.#ttl = { ...NODE_INFO_TTL_MS, ...options.ttlMs };
    this.#swr = options.staleWhileRevalidate ?? true;
    this.#logger = options.logger ?? silentLogger;
  }

  /** All sections at once (slow only on the first call). */
  async status(): Promise<NodeStatus> {
    const [cpuinfo, cpu, memory, osInfo, filesystems, blockDevices, network] = await Promise.all([
      this.cpuInfo(),
      this.cpuUsage(),
      this.memory(),
      this.osInfo(),
      this.filesystems(),
      this.blockDevices(),
      this.networkInterfaces(),
    ]);
    return { cpuinfo, cpu, loadavg: this.loadavg(), memory, uptimeSec: os.uptime(), os: osInfo, filesystems, blockDevices, network };
  }

  /** Static CPU facts. */
  cpuInfo(): Promise<NodeCpuInfo> {
    return this.#section('cpuinfo', async () => {
      const c = await (await loadSi()).cpu();
      return {
        model: c.brand ? `${c.manufacturer} ${c.brand}`.trim() : (os.cpus()[0]?.model ?? ''),
        vendor: c.vendor,
        cpus: c.cores || os.cpus().length,
        cores: c.physicalCores || c.cores,
        sockets: c.processors || 1,
        mhz: Math.round((c.speed || 0) * 1000),
        flags: c.flags ? c.flags.split(/\s+/).filter(Boolean) : [],
      };
    });
  }

  /** Host CPU usage, fraction 0..1. */
  cpuUsage(): Promise<number> {
    return this.#section('cpu', async () => {
      const l = await (await loadSi()).currentLoad();
      return Math.min(1, Math.max(0, (l.currentLoad || 0) / 100));
    });
  }

  /** Memory and swap. */
  memory(): Promise<NodeMemory> {
    return this.#section('memory', async () => {
      const m = await (await loadSi()).mem();
      const available = m.available || m.free;
      return {
        totalBytes: m.total,
        usedBytes: m.total - available,
        freeBytes: m.free,
        availableBytes: available,
        swapTotalBytes: m.swaptotal,
        swapUsedBytes: m.swapused,
      };
    });
  }

  /** Kernel and distribution. */
  osInfo(): Promise<NodeOsInfo> {
    return this.#section('os', async () => {
      const o = await (await loadSi()).osInfo();
      return { hostname: o.hostname || os.hostname(), kernel: o.kernel || os.release(), distro: o.distro, release: o.release, arch: o.arch || os.arch() };
    });
  }

  /** Mounted filesystems with sizes. */
  filesystems(): Promise<NodeFilesystem[]> {
    return this.#section('filesystems', async () =>
      (await (await loadSi()).fsSize()).map((f) => ({
        device: f.fs,
        type: f.type,
        mount: f.mount,
        sizeBytes: f.size,
        usedBytes: f.used,
        availableBytes: f.available,
      })),
    );
  }

  /** Block devices. */
  blockDevices(): Promise<NodeBlockDevice[]> {
    return this.#section('blockDevices', async () =>
      (await (await loadSi()).blockDevices()).map((b) => ({
        name: b.name,
        type: b.type,
        sizeBytes: b.size,
        model: b.model,
        serial: b.serial,
        fsType: b.fsType,
        mount: b.mount,
        removable: b.removable,
      })),
    );
  }

  /** Network interfaces. */
  networkInterfaces(): Promise<NodeNetworkInterface[]> {
    return this.#section('network', async () => {
      const list = await (await loadSi()).networkInterfaces();
      return (Array.isArray(list) ? list : [list]).map((n) => ({
        name: n.iface,
        mac: n.mac,
        ipv4: n.ip4,
        ipv4Netmask: n.ip4subnet,
        ipv6: n.ip6,
        mtu: n.mtu,
        speedMbps: n.speed,
        operstate: n.operstate,
        type: n.type,
        internal: n.internal,
        virtual: n.virtual,
        isDefault: n.default,
      }));
    });
  }

  /** Load averages (never cached). */
  loadavg(): [number, number, number] {
    const [a = 0, b = 0, c = 0] = os.loadavg();
    return [a, b, c];
  }

  /** Drops cached values (all, or the named sections) so the next call fetches. */
  invalidate(...sections: NodeInfoSection[]): void {
    if (sections.length === 0) this.#slots.clear();
    for (const s of sections) this.#slots.delete(s);
  }

  /**
   * Refreshes every section each `intervalMs` in the background (the timer does not keep
   * the process alive). Returns the function that stops it.
   */
  startBackgroundRefresh(intervalMs = 5_000): () => void {
    this.stopBackgroundRefresh();
    const tick = (): void => {
      void this.status().catch((error) => this.#logger.warn('node info refresh failed', { error: String(error) }));
    };
    tick();
    this.#refreshTimer = setInterval(tick, intervalMs);
    this.#refreshTimer.unref();
    return () => this.stopBackgroundRefresh();
  }

  /** Stops {@link startBackgroundRefresh}. */
  stopBackgroundRefresh(): void {
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  #section<T>(name: NodeInfoSection, fetch: () => Promise<T>): Promise<T> {
    let slot = this.#slots.get(name) as Slot<T> | undefined;
    if (!slot) {
      slot = { fetchedAt: 0 };
      this.#slots.set(name, slot as Slot<unknown>);
    }
    const s = slot;
    const fresh = s.value !== undefined && performance.now() - s.fetchedAt < this.#ttl[name];
    if (fresh) return Promise.resolve(s.value as T);
    if (!s.inflight) {
      s.inflight = fetch()
        .then((value) => {
          s.value = value;
          s.fetchedAt = performance.now();
          return value;
        })
        .catch((error: unknown) => {
          throw new UnavailableError('systeminformation', `cannot read node ${name}: ${(error as Error)?.message ?? String(error)}`, {
            cause: error,
          });
        })
        .finally(() => {
          s.inflight = undefined;
        });
    }
    if (s.value !== undefined && this.#swr) {
      s.inflight.catch((error) => this.#logger.warn('node info refresh failed', { section: name, error: String(error) }));
      return Promise.resolve(s.value as T);
    }
    return s.inflight;
  }
}
