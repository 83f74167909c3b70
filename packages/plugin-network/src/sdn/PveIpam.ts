/**
 * Proxmox's built-in IPAM (`ipam pve`, `Ipams/PVEPlugin.pm`): one JSON file
 * (`/etc/pve/sdn/pve-ipam-state.json`) holding, per zone and subnet, the addresses in use:
 *
 * ```json
 * {"zones":{"myzone":{"subnets":{"10.0.0.0/24":{"ips":{
 *   "10.0.0.1":{"gateway":1},
 *   "10.0.0.100":{"mac":"BC:24:11:00:00:01","vmid":"100","hostname":"ct100"}}}}}}}
 * ```
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AlreadyExistsError, ConflictError, LocalLockManager, NotFoundError, ParseError, type LockManager } from '@corral/core';
import { formatIp, parseCidr, parseIp } from './ipAddress.js';
import type { SdnSubnet } from './sdnConfigFiles.js';

/** One address in the IPAM: a subnet's gateway, or a guest's. */
export interface IpamEntry {
  readonly gateway?: 1;
  readonly mac?: string;
  readonly vmid?: string;
  readonly hostname?: string;
}

/** The IPAM file's content. */
export interface IpamDb {
  zones: Record<string, { subnets: Record<string, { ips: Record<string, IpamEntry> }> }>;
}

/** What a guest's address is registered with. */
export interface IpamGuest {
  readonly mac: string;
  readonly vmid?: number;
  readonly hostname?: string;
}

/** Most bytes of IPAM file read (a larger one is refused). */
export const MAX_IPAM_FILE_BYTES = 64 * 1024 * 1024;

/** Options of {@link PveIpam}. */
export interface PveIpamOptions {
  /** The JSON file (Proxmox: `/etc/pve/sdn/pve-ipam-state.json`). A missing file is an empty IPAM. */
  readonly path: string;
  /** Locks serialising changes (lock `sdn-ipam`); default a lock manager of this process. */
  readonly locks?: LockManager;
}

/**
 * The `pve` IPAM. Every change reads the file, changes it and writes it back (a temporary file
 * renamed over it) under the lock `sdn-ipam`, so concurrent allocations never hand out one
 * address twice.
 */
export class PveIpam {
  readonly #path: string;
  readonly #locks: LockManager;

  constructor(options: PveIpamOptions) {
    this.#path = options.path;
    this.#locks = options.locks ?? new LocalLockManager();
  }

  /**
   * Reads the file.
   *
   * @throws ParseError (source = the path) for text that is not the IPAM's JSON or is larger
   *   than {@link MAX_IPAM_FILE_BYTES}.
   */
  async read(): Promise<IpamDb> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { zones: {} };
      throw error;
    }
    if (text.length > MAX_IPAM_FILE_BYTES) throw new ParseError(this.#path, `file is larger than ${MAX_IPAM_FILE_BYTES} bytes`);
    let db: unknown;
    try {
      db = JSON.parse(text);
    } catch (error) {
      throw new ParseError(this.#path, `not JSON: ${(error as Error).message}`);
    }
    const zones = (db as { zones?: unknown } | null)?.zones;
    if (typeof zones !== 'object' || zones === null || Array.isArray(zones)) throw new ParseError(this.#path, "expected an object with 'zones'");
    return db as IpamDb;
  }

  async #change<T>(fn: (db: IpamDb) => T): Promise<T> {
    return this.#locks.withLock('sdn-ipam', async () => {
      const db = await this.read();
      const result = fn(db);
      const tmp = `${this.#path}.tmp.${randomBytes(6).toString('hex')}`;
      await mkdir(dirname(this.#path), { recursive: true });
      await writeFile(tmp, JSON.stringify(db), { mode: 0o600 });
      await rename(tmp, this.#path);
      return result;
    });
  }

  /** The subnet's entry, or NotFoundError naming the zone or subnet (as Proxmox's "doesn't exist in IPAM DB"). */
  static #subnet(db: IpamDb, subnet: SdnSubnet) {
    const zone = db.zones[subnet.zone];
    if (!zone) throw new NotFoundError('ipam zone', subnet.zone, `zone '${subnet.zone}' doesn't exist in IPAM DB`);
    const entry = zone.subnets[subnet.cidr];
    if (!entry) throw new NotFoundError('ipam subnet', subnet.cidr, `subnet '${subnet.cidr}' doesn't exist in IPAM DB`);
    return entry;
  }

  /** Registers a subnet (and its gateway, as `{gateway: 1}`); nothing happens for one already there. */
  async addSubnet(subnet: SdnSubnet): Promise<void> {
    await this.#change((db) => {
      const zone = (db.zones[subnet.zone] ??= { subnets: {} });
      const entry = (zone.subnets[subnet.cidr] ??= { ips: {} });
      if (subnet.gateway && !entry.ips[subnet.gateway]) entry.ips[subnet.gateway] = { gateway: 1 };
    });
  }

  /**
   * Removes a subnet.
   *
   * @throws ConflictError while addresses other than the gateway are registered in it
   *   (Proxmox: "cannot delete subnet, not empty"); NotFoundError for an unknown one.
   */
  async delSubnet(subnet: SdnSubnet): Promise<void> {
    await this.#change((db) => {
      const ips = PveIpam.#subnet(db, subnet).ips;
      const guests = Object.values(ips).filter((e) => e.gateway !== 1);
      if (guests.length > 0) throw new ConflictError(`cannot delete subnet '${subnet.cidr}', not empty`);
      delete db.zones[subnet.zone]!.subnets[subnet.cidr];
    });
  }

  /**
   * Registers `ip` for a guest.
   *
   * @throws AlreadyExistsError when the address is registered; NotFoundError for an unknown
   *   subnet; ConflictError when `ip` is not in the subnet.
   */
  async addIp(subnet: SdnSubnet, ip: string, guest: IpamGuest): Promise<void> {
    const network = parseCidr(subnet.cidr)!;
    const parsed = parseIp(ip);
    if (!parsed || parsed.family !== network.family || parsed.value < network.first || parsed.value > network.last) {
      throw new ConflictError(`IP '${ip}' is not in subnet '${subnet.cidr}'`);
    }
    await this.#change((db) => {
      const ips = PveIpam.#subnet(db, subnet).ips;
      if (ips[ip]) throw new AlreadyExistsError('ip', ip, `IP '${ip}' already exist`);
      ips[ip] = entryOf(guest);
    });
  }

  /**
   * The address of the guest with `mac` in the subnet, allocating the first free one of the
   * subnet's DHCP ranges (in their order) when it has none, as Proxmox's
   * `add_range_next_freeip` does.
   *
   * @throws ConflictError when the subnet has no DHCP range or every range is full ("No free
   *   IP left in Range ..."); NotFoundError for a subnet not in the IPAM.
   */
  async allocate(subnet: SdnSubnet, guest: IpamGuest): Promise<string> {
    return this.#change((db) => {
      const ips = PveIpam.#subnet(db, subnet).ips;
      const mac = guest.mac.toLowerCase();
      const known = Object.entries(ips).find(([, e]) => e.mac?.toLowerCase() === mac);
      if (known) return known[0];
      if (subnet.dhcpRanges.length === 0) throw new ConflictError(`subnet '${subnet.id}' has no dhcp-range to allocate from`);
      for (const range of subnet.dhcpRanges) {
        const from = parseIp(range.start)!;
        const to = parseIp(range.end)!;
        for (let value = from.value; value <= to.value; value++) {
          const ip = formatIp({ family: from.family, value });
          if (!ips[ip]) {
            ips[ip] = entryOf(guest);
            return ip;
          }
        }
      }
      throw new ConflictError(`No free IP left in the ranges of subnet '${subnet.id}' (${subnet.dhcpRanges.map((r) => `${r.start}-${r.end}`).join(', ')})`);
    });
  }

  /** Removes an address; nothing happens for one not registered. @throws NotFoundError for an unknown subnet. */
  async delIp(subnet: SdnSubnet, ip: string): Promise<void> {
    await this.#change((db) => {
      delete PveIpam.#subnet(db, subnet).ips[ip];
    });
  }
}

function entryOf(guest: IpamGuest): IpamEntry {
  return { mac: guest.mac, ...(guest.vmid === undefined ? {} : { vmid: String(guest.vmid) }), ...(guest.hostname ? { hostname: guest.hostname } : {}) };
}
