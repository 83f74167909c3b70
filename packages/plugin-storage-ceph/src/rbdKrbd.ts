/**
 * Kernel mappings of rbd images (krbd): `rbd showmapped`, `rbd map`, `rbd unmap`. Containers
 * always use them; VMs only when the storage sets `krbd`.
 *
 * @packageDocumentation
 */
import { parseRbdShowmapped, type RbdMapping } from './parseRbdJson.js';
import type { RbdSession } from './RbdSession.js';

/** Kernel mappings of `image` (any snapshot, or the given one; `-` = the head). */
async function mappings(s: RbdSession, image: string, snapshot?: string): Promise<RbdMapping[]> {
  const r = await s.run(s.cmd.showMapped());
  const loc = s.cmd.location;
  return parseRbdShowmapped(r.stdout).filter(
    (m) => m.pool === loc.pool && m.namespace === (loc.namespace ?? '') && m.image === image && (snapshot === undefined || m.snapshot === snapshot),
  );
}

/**
 * Maps an image (or snapshot) through krbd unless it is mapped already; returns the device
 * (`rbd map` prints it).
 *
 * @throws NotSupportedError when the kernel cannot map rbd images (no rbd module).
 */
export async function mapRbdImage(s: RbdSession, image: string, snapshot?: string, volid?: string): Promise<string> {
  const existing = await mappings(s, image, snapshot ?? '-');
  if (existing[0]) return existing[0].device;
  const r = await s.run(s.cmd.map(image, snapshot), { volid, snapshot });
  return r.stdout.trim().split('\n').at(-1)!.trim();
}

/** Unmaps every kernel mapping of `image` (head and snapshots). Idempotent. */
export async function unmapAll(s: RbdSession, image: string, snapshot?: string): Promise<void> {
  for (const m of await mappings(s, image, snapshot)) await s.run(s.cmd.unmap(m.device));
}
