/**
 * How consumers reach rbd volumes: QEMU through librbd (`qemu` access), containers (and every
 * consumer when the storage sets `krbd`) through a kernel mapping (`rbd map`, a `block` access).
 *
 * @packageDocumentation
 */
import type { VolumeAccess, VolumeConsumer } from '@corral/core';
import { parseRbdVolname } from './rbdVolname.js';
import { rbdQemuAccess } from './rbdQemuAccess.js';
import { rbdImageInfo } from './rbdVolumes.js';
import { mapRbdImage } from './rbdKrbd.js';
import type { RbdSession } from './RbdSession.js';

/**
 * Makes a volume reachable: `qemu`/`host` consumers get librbd access (unless `krbd` is set),
 * `container` consumers (and all with `krbd`) a mapped block device.
 *
 * @throws NotFoundError (volume or snapshot), NotSupportedError (no krbd), UnavailableError.
 */
export async function resolveRbdVolume(s: RbdSession, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
  const v = parseRbdVolname(volname);
  await rbdImageInfo(s, v, options.snapshot);
  if (s.opts.krbd || options.consumer === 'container') {
    return { kind: 'block', path: await mapRbdImage(s, v.name, options.snapshot, s.volid(volname)), format: 'raw' };
  }
  return rbdQemuAccess({ connection: s.connection, location: s.cmd.location, image: v.name, snapshot: options.snapshot, monitors: s.opts.monitors });
}
