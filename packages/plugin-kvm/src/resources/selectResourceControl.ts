import { CgroupV1Placement, type CgroupV1PlacementOptions } from './CgroupV1Placement.js';
import { NoResourceControl, type ResourceControl } from './ResourceControl.js';
import { SystemdScope, type SystemdScopeOptions } from './SystemdScope.js';

/** Which {@link ResourceControl} to use: `auto` picks systemd, then cgroup v1, then none. */
export type ResourceControlMode = 'auto' | 'systemd' | 'cgroup-v1' | 'none';

/** Options of {@link selectResourceControl}. */
export interface ResourceControlOptions {
  readonly mode?: ResourceControlMode;
  readonly systemd?: SystemdScopeOptions;
  readonly cgroupV1?: CgroupV1PlacementOptions;
}

/**
 * The resource control for this host: with `auto` (the default), a {@link SystemdScope} when
 * systemd is the init system, else a {@link CgroupV1Placement} when a cgroup v1 `cpu`
 * hierarchy is mounted, else {@link NoResourceControl}.
 */
export async function selectResourceControl(options: ResourceControlOptions = {}): Promise<ResourceControl> {
  const mode = options.mode ?? 'auto';
  if (mode === 'systemd' || (mode === 'auto' && (await SystemdScope.running()))) return new SystemdScope(options.systemd);
  if (mode === 'cgroup-v1' || (mode === 'auto' && (await CgroupV1Placement.available(options.cgroupV1?.root)))) {
    return new CgroupV1Placement(options.cgroupV1);
  }
  return new NoResourceControl();
}
