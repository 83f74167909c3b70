/**
 * Guest id allocation (Proxmox's `/cluster/nextid` plus `create_and_lock_config`).
 *
 * Guest ids are integers from 100 to 999 999 999, unique across guest types and nodes: an id
 * is used when any `nodes/<node>/qemu-server/<id>.conf` or `nodes/<node>/lxc/<id>.conf`
 * exists. {@link allocateVmid} only proposes the lowest free id (two callers may get the same
 * one); {@link reserveVmid} also claims it, so concurrent creators always get distinct ids.
 *
 * @packageDocumentation
 */
import type { ConfigStore } from '../config/ConfigStore.js';
import { isProcessRunning, ownProcessIdentity, type ProcessIdentity } from '../util/processIdentity.js';
import { transactionSettled, writeSettled } from '../config/writeSettled.js';
import type { GuestType } from '../contracts/hypervisor.js';
import { AlreadyExistsError, DigestMismatchError, InvalidArgumentError, UnavailableError } from '../errors.js';
import { GUEST_CONFIG_DIRS, guestConfigPath } from './guestConfigPaths.js';

/** Lowest guest id Proxmox allows. */
export const MIN_VMID = 100;
/** Highest guest id Proxmox allows. */
export const MAX_VMID = 999_999_999;

/**
 * Directory of in-flight reservations (`vmid-reservations/<vmid>`). A reservation lives for
 * the few milliseconds between claiming an id and writing the guest's config.
 */
export const VMID_RESERVATION_DIR = 'vmid-reservations';

/** A reservation this host cannot check the creator of, older than this, is removed, ms. */
const STALE_RESERVATION_MS = 60_000;

/** Content of a new guest's placeholder config (as Proxmox's `create_and_lock_config`). */
export const CREATE_PLACEHOLDER = 'lock: create\n';

/** Options of {@link allocateVmid} and {@link usedVmids}. */
export interface AllocateVmidOptions {
  /** Nodes whose guest dirs count. Default: every directory under `nodes/` (needs `store.listDirs`). */
  readonly nodes?: readonly string[];
  /** Lowest id to hand out (default 100). */
  readonly min?: number;
  /** Highest id to hand out (default 999 999 999). */
  readonly max?: number;
  /** Config directories of every guest type whose ids count (default: the built-in types', `qemu-server` and `lxc`). */
  readonly configDirs?: readonly string[];
}

/** Options of {@link reserveVmid}. */
export interface ReserveVmidOptions extends AllocateVmidOptions {
  /** Node that will own the guest. */
  readonly node: string;
  readonly type: GuestType;
  /** Config directory of `type` (needed for a type that is not built in; see `guestConfigDir`). */
  readonly configDir?: string;
  /** A specific id (`qm create 105`): reserved if free, else `AlreadyExistsError`. */
  readonly vmid?: number;
  /** Placeholder content written as the guest's config (default {@link CREATE_PLACEHOLDER}). */
  readonly content?: string;
}

/** What {@link reserveVmid} returns. */
export interface VmidReservation {
  readonly vmid: number;
  /** Store path of the placeholder config (`nodes/<node>/<dir>/<vmid>.conf`). */
  readonly path: string;
  /** Digest of the placeholder, for the creator's compare-and-set write. */
  readonly digest: string;
  /**
   * What went wrong without stopping the reservation, for the creator's task log (a claim
   * that could not be dropped keeps its id from other creators until it goes stale).
   */
  readonly warnings: readonly string[];
}

function checkRange(options: AllocateVmidOptions): { min: number; max: number } {
  const min = options.min ?? MIN_VMID;
  const max = options.max ?? MAX_VMID;
  if (!Number.isSafeInteger(min) || min < MIN_VMID || min > MAX_VMID) {
    throw new InvalidArgumentError('min', `min must be an integer from ${MIN_VMID} to ${MAX_VMID}, got ${String(min)}`);
  }
  if (!Number.isSafeInteger(max) || max < min || max > MAX_VMID) {
    throw new InvalidArgumentError('max', `max must be an integer from min (${min}) to ${MAX_VMID}, got ${String(max)}`);
  }
  return { min, max };
}

function configDirsOf(options: AllocateVmidOptions & { configDir?: string }): string[] {
  const dirs = new Set(options.configDirs ?? Object.values(GUEST_CONFIG_DIRS));
  if (options.configDir !== undefined) dirs.add(options.configDir);
  return [...dirs];
}

async function nodesOf(store: ConfigStore, options: AllocateVmidOptions): Promise<readonly string[]> {
  if (options.nodes) return options.nodes;
  if (!store.listDirs) {
    throw new InvalidArgumentError('nodes', 'this config store cannot list directories: pass the node names');
  }
  return store.listDirs('nodes');
}

/**
 * Every guest id in use on the given nodes, plus ids with an in-flight reservation (stale
 * reservations of crashed creators are removed on the way).
 */
export async function usedVmids(store: ConfigStore, options: AllocateVmidOptions = {}): Promise<Set<number>> {
  const used = new Set<number>();
  const nodes = await nodesOf(store, options);
  const lists = await Promise.all(
    nodes.flatMap((node) => configDirsOf(options).map((dir) => store.list(`nodes/${node}/${dir}`))),
  );
  for (const names of lists) {
    for (const name of names) {
      const m = /^([1-9]\d*)\.conf$/.exec(name);
      if (m) used.add(Number(m[1]));
    }
  }
  const now = Date.now();
  for (const claim of await store.readAll(VMID_RESERVATION_DIR)) {
    const vmid = Number(claim.path.slice(VMID_RESERVATION_DIR.length + 1));
    if (!Number.isSafeInteger(vmid)) continue;
    if (claimIsStale(claim.content, now)) {
      await store.delete(claim.path, { expectedDigest: claim.digest }).catch(() => undefined);
      continue;
    }
    used.add(vmid);
  }
  return used;
}

/**
 * A claim is stale when its creator is gone: for a creator of this boot of this host, when its
 * process (pid and start time) no longer runs, whatever any clock says. Only a claim this host
 * cannot judge (another host's, or one without the creator's identity) falls back to its age.
 */
function claimIsStale(content: string, now: number): boolean {
  let claim: (Partial<ProcessIdentity> & { time?: unknown }) | null;
  try {
    claim = JSON.parse(content) as typeof claim;
  } catch {
    return true; // unreadable
  }
  const running = isProcessRunning(claim);
  if (running !== undefined) return !running;
  return now - (Number(claim?.time) || 0) > STALE_RESERVATION_MS;
}

function lowestFree(used: ReadonlySet<number>, min: number, max: number): number {
  for (let id = min; id <= max; id++) if (!used.has(id)) return id;
  throw new UnavailableError('vmid', `no free guest id between ${min} and ${max}`);
}

/**
 * The lowest guest id from `min` (default 100) that no guest config and no reservation uses.
 * Does not reserve it: use {@link reserveVmid} when creating.
 *
 * @throws UnavailableError when the range is full.
 * @throws InvalidArgumentError for a bad range, or no `nodes` with a store that cannot list directories.
 */
export async function allocateVmid(store: ConfigStore, options: AllocateVmidOptions = {}): Promise<number> {
  const { min, max } = checkRange(options);
  return lowestFree(await usedVmids(store, options), min, max);
}

async function existsAnywhere(store: ConfigStore, vmid: number, options: AllocateVmidOptions): Promise<boolean> {
  const nodes = await nodesOf(store, options);
  const found = await Promise.all(
    nodes.flatMap((node) => configDirsOf(options).map((dir) => store.read(`nodes/${node}/${dir}/${vmid}.conf`))),
  );
  return found.some((f) => f !== null);
}

/**
 * Reserves a guest id and creates the guest's placeholder config (`lock: create`), so the id
 * is taken from that moment on, by this and every other creator.
 *
 * How: the id is claimed with a create-only write of `vmid-reservations/<id>` (the store's
 * compare-and-set with `expectedDigest: null`: one claimer wins, the others move to the next
 * id); the winner checks that no node has a config with that id (configs written without a
 * reservation, imports), writes the placeholder create-only, and drops the claim. The caller
 * then writes the real config with the returned digest and clears the `lock: create` key; on
 * failure it deletes the placeholder. A crash leaves a visible `lock: create` config, as in
 * Proxmox.
 *
 * @throws AlreadyExistsError when a requested `vmid` is in use.
 * @throws UnavailableError when the range is full.
 * @throws InvalidArgumentError for a bad range, type or vmid.
 */
export async function reserveVmid(store: ConfigStore, options: ReserveVmidOptions): Promise<VmidReservation> {
  const { min, max } = checkRange(options);
  if (options.vmid !== undefined && (!Number.isSafeInteger(options.vmid) || options.vmid < MIN_VMID || options.vmid > MAX_VMID)) {
    throw new InvalidArgumentError('vmid', `guest id must be an integer from ${MIN_VMID} to ${MAX_VMID}, got ${String(options.vmid)}`);
  }
  guestConfigPath(options.node, options.type, MIN_VMID, options.configDir); // validates the type early
  const skip = new Set<number>();
  const warnings: string[] = [];
  for (;;) {
    let vmid: number;
    if (options.vmid !== undefined) {
      vmid = options.vmid;
    } else {
      const used = await usedVmids(store, options);
      for (const id of skip) used.add(id);
      vmid = lowestFree(used, min, max);
    }
    const taken = (): Error => new AlreadyExistsError('guest', String(vmid));
    const claimPath = `${VMID_RESERVATION_DIR}/${vmid}`;
    let claimDigest: string;
    let claimDropped = false;
    try {
      claimDigest = await writeSettled(
        store,
        claimPath,
        `${JSON.stringify({ node: options.node, type: options.type, ...ownProcessIdentity(), time: Date.now() })}\n`,
        { expectedDigest: null },
      );
    } catch (error) {
      if (!(error instanceof DigestMismatchError)) throw error;
      if (options.vmid !== undefined) throw taken();
      skip.add(vmid);
      continue;
    }
    try {
      if (!(await existsAnywhere(store, vmid, options))) {
        const path = guestConfigPath(options.node, options.type, vmid, options.configDir);
        try {
          const content = options.content ?? CREATE_PLACEHOLDER;
          if (store.transaction) {
            // The placeholder and the claim's removal in one step: no claim outlives its creator's success.
            const { digests } = await transactionSettled(store, [
              { type: 'write', path, content, expectedDigest: null },
              { type: 'delete', path: claimPath, expectedDigest: claimDigest },
            ], (error) => warnings.push(`reserving guest ${vmid} reported an error after it landed: ${error.message}`));
            claimDropped = true;
            return { vmid, path, digest: digests.get(path)!, warnings };
          }
          const digest = await writeSettled(store, path, content, { expectedDigest: null });
          return { vmid, path, digest, warnings };
        } catch (error) {
          if (!(error instanceof DigestMismatchError)) throw error;
        }
      }
      if (options.vmid !== undefined) throw taken();
      skip.add(vmid);
    } finally {
      if (!claimDropped) {
        await store
          .delete(claimPath, { expectedDigest: claimDigest })
          .catch((error: Error) => warnings.push(`the reservation claim '${claimPath}' stays until it is stale: ${error.message}`));
      }
    }
  }
}
