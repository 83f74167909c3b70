/**
 * argv builders for every `rbd`/`ceph` command of the rbd driver. Pure functions, so tests
 * compare argv exactly.
 *
 * Images are always named by their full spec `<pool>[/<namespace>]/<image>` (no `-p` /
 * `--namespace`): measured on Ceph 16, `--namespace` combined with a `pool/image` spec looks
 * the image up in that namespace, and `rbd import` rejects `--namespace` (it wants
 * `--dest-namespace`), so specs are the one form that works for every command.
 *
 * @packageDocumentation
 */
import { connectionArgs, type RbdConnection } from './RbdConnection.js';

/** Where images live: pool and optional namespace. */
export interface RbdLocation {
  readonly pool: string;
  readonly namespace?: string;
}

/** `<pool>[/<namespace>]`. */
export function poolSpec(loc: RbdLocation): string {
  return loc.namespace ? `${loc.pool}/${loc.namespace}` : loc.pool;
}

/** `<pool>[/<namespace>]/<image>[@<snapshot>]`. */
export function imageSpec(loc: RbdLocation, image: string, snapshot?: string): string {
  return `${poolSpec(loc)}/${image}${snapshot ? `@${snapshot}` : ''}`;
}

/** argv of the rbd driver's commands for one connection and location. */
export class RbdCommands {
  constructor(
    readonly connection: RbdConnection,
    readonly location: RbdLocation,
  ) {}

  #rbd(...args: string[]): string[] {
    return ['rbd', ...connectionArgs(this.connection), ...args];
  }

  #spec(image: string, snapshot?: string): string {
    return imageSpec(this.location, image, snapshot);
  }

  /** `rbd ls -l --format json <pool>[/<ns>]`: images and their snapshots. */
  list(): string[] {
    return this.#rbd('ls', '-l', '--format', 'json', poolSpec(this.location));
  }

  /** `rbd info --format json <spec>[@snap]`. */
  info(image: string, snapshot?: string): string[] {
    return this.#rbd('info', '--format', 'json', this.#spec(image, snapshot));
  }

  /** `rbd create --image-format 2 --size <MiB> [--data-pool X] <spec>`. */
  create(image: string, sizeMiB: number, dataPool?: string): string[] {
    return this.#rbd('create', '--image-format', '2', '--size', String(sizeMiB), ...(dataPool ? ['--data-pool', dataPool] : []), this.#spec(image));
  }

  /** `rbd rm <spec>`. */
  remove(image: string): string[] {
    return this.#rbd('rm', this.#spec(image));
  }

  /** `rbd resize --size <MiB> [--allow-shrink] <spec>`. */
  resize(image: string, sizeMiB: number, allowShrink: boolean): string[] {
    return this.#rbd('resize', '--size', String(sizeMiB), ...(allowShrink ? ['--allow-shrink'] : []), this.#spec(image));
  }

  /** `rbd rename <spec> <spec>`. */
  rename(from: string, to: string): string[] {
    return this.#rbd('rename', this.#spec(from), this.#spec(to));
  }

  /** `rbd snap ls --format json <spec>`. */
  snapList(image: string): string[] {
    return this.#rbd('snap', 'ls', '--format', 'json', this.#spec(image));
  }

  /** `rbd snap create <spec>@<snap>`. */
  snapCreate(image: string, snapshot: string): string[] {
    return this.#rbd('snap', 'create', this.#spec(image, snapshot));
  }

  /** `rbd snap rollback <spec>@<snap>`. */
  snapRollback(image: string, snapshot: string): string[] {
    return this.#rbd('snap', 'rollback', this.#spec(image, snapshot));
  }

  /** `rbd snap rm <spec>@<snap>`. */
  snapRemove(image: string, snapshot: string): string[] {
    return this.#rbd('snap', 'rm', this.#spec(image, snapshot));
  }

  /** `rbd snap protect <spec>@<snap>`. */
  snapProtect(image: string, snapshot: string): string[] {
    return this.#rbd('snap', 'protect', this.#spec(image, snapshot));
  }

  /** `rbd snap unprotect <spec>@<snap>`. */
  snapUnprotect(image: string, snapshot: string): string[] {
    return this.#rbd('snap', 'unprotect', this.#spec(image, snapshot));
  }

  /** `rbd snap purge <spec>`. */
  snapPurge(image: string): string[] {
    return this.#rbd('snap', 'purge', this.#spec(image));
  }

  /** `rbd children --format json <spec>`: clones of every snapshot of the image. */
  children(image: string): string[] {
    return this.#rbd('children', '--format', 'json', this.#spec(image));
  }

  /** `rbd clone [--data-pool X] <spec>@<snap> <spec>`. */
  clone(source: string, snapshot: string, target: string, dataPool?: string): string[] {
    return this.#rbd('clone', ...(dataPool ? ['--data-pool', dataPool] : []), this.#spec(source, snapshot), this.#spec(target));
  }

  /** `rbd export --export-format 1 <spec>[@snap] -`: raw bytes on stdout. */
  export(image: string, snapshot?: string): string[] {
    return this.#rbd('export', '--export-format', '1', this.#spec(image, snapshot), '-');
  }

  /** `rbd import --export-format 1 [--data-pool X] - <spec>`: raw bytes from stdin. */
  import(image: string, dataPool?: string): string[] {
    return this.#rbd('import', '--export-format', '1', ...(dataPool ? ['--data-pool', dataPool] : []), '-', this.#spec(image));
  }

  /** `rbd map <spec>[@snap]` (krbd): prints the device (`/dev/rbd0`). */
  map(image: string, snapshot?: string): string[] {
    return this.#rbd('map', this.#spec(image, snapshot));
  }

  /** `rbd showmapped --format json`: what the kernel has mapped (no cluster contact). */
  showMapped(): string[] {
    return this.#rbd('showmapped', '--format', 'json');
  }

  /** `rbd unmap <device>`. */
  unmap(device: string): string[] {
    return this.#rbd('unmap', device);
  }

  /** `ceph <conn> --connect-timeout <s> df --format json` (pool usage; `profile rbd` clients may run it). */
  df(): string[] {
    return ['ceph', ...connectionArgs(this.connection), '--connect-timeout', String(this.connection.connectTimeoutSeconds), 'df', '--format', 'json'];
  }
}
