/**
 * Config changes of a running container that take effect at once: resource limits written to
 * its cgroup (`memory`, `swap`, `cores`, `cpulimit`, `cpuunits`, and raw `lxc.cgroup.*` keys of
 * the host's cgroup version such as `lxc.cgroup.pids.max`), and keys that only describe the
 * guest (`description`, `tags`, `onboot`...). Everything else waits for the next start.
 *
 * @packageDocumentation
 */
import type { ApplyChangesResult } from '@corral/core';
import { limitSettings, orderMemoryWrites, rawCgroupPrefix, resetValueOf, type CgroupHost, type CgroupSetting } from '../config/cgroupLimits.js';
import type { ContainerConfig } from '../config/parseContainerConfig.js';
import type { ContainerCgroup } from '../host/HostCgroups.js';

/** Keys whose change needs nothing at runtime. */
export const METADATA_KEYS: ReadonlySet<string> = new Set(['description', 'tags', 'onboot', 'startup', 'protection', 'hookscript', 'parent', 'snaptime', 'digest']);
/** Keys written to the live cgroup. */
export const LIVE_LIMIT_KEYS: ReadonlySet<string> = new Set(['memory', 'swap', 'cores', 'cpulimit', 'cpuunits']);

/**
 * Applies what can be applied live.
 *
 * @param after - The whole config after the change (already validated).
 * @param changed - Keys set or deleted.
 * @throws InvalidStateError when the kernel refuses a value (a memory limit below the usage...);
 *   writes made before stay (the facade then keeps the old config for every key).
 */
export async function applyLiveChanges(
  cg: ContainerCgroup,
  after: ContainerConfig,
  afterEntries: Readonly<Record<string, string>>,
  changed: readonly string[],
  host: CgroupHost,
): Promise<ApplyChangesResult> {
  const applied: string[] = [];
  const pending: string[] = [];
  const writes: CgroupSetting[] = [];
  const limitKeys = new Set(changed.filter((k) => LIVE_LIMIT_KEYS.has(k)));
  if (limitKeys.has('swap')) limitKeys.add('memory');
  if (limitKeys.has('memory')) limitKeys.add('swap');
  writes.push(...limitSettings(after, host).filter((s) => limitKeys.has(s.key)));

  const prefix = rawCgroupPrefix(host.version);
  for (const key of changed) {
    if (LIVE_LIMIT_KEYS.has(key) || METADATA_KEYS.has(key)) {
      applied.push(key);
      continue;
    }
    if (key.startsWith(prefix) && !key.startsWith(`${prefix}devices.`)) {
      const file = key.slice(prefix.length);
      const text = afterEntries[key];
      const value = text === undefined ? resetValueOf(file) : text.split('\n').at(-1);
      if (value !== undefined && cg.pathOf(file) !== undefined) {
        writes.push({ file, value, key });
        applied.push(key);
        continue;
      }
    }
    pending.push(key);
  }

  const ordered = host.version === 1 ? orderMemoryWrites(writes, await cg.readNumber('memory.memsw.limit_in_bytes')) : writes;
  for (const w of ordered) await cg.write(w.file, w.value);
  return { applied, pending };
}
