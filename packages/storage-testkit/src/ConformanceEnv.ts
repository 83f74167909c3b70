import type { ExecutionContext } from 'ava';
import {
  coreServices,
  ErrorCodes,
  extensionPoints,
  hasVolumeFeature,
  storageInfoFor,
  type CommandRunner,
  type Kernel,
  type StorageDefinition,
  type StorageDriver,
  type StorageDriverInfo,
  type StorageFacade,
  type VolumeAccess,
  type VolumeConsumer,
  type VolumeFeature,
  type VolumeFormat,
  type VolumeState,
} from '@corral/core';
import type { ALLOCATING_CHECKS, ConformanceCheckId, NO_ALLOCATION_CHECK } from './checkIds.js';
import { MiB } from './volumeBytes.js';

/** What a suite's `setup` returns: a kernel with the driver's plugin loaded and a storage defined. */
export interface StorageUnderTest {
  /** A kernel with the plugin under test loaded (e.g. from `createTestKernel(t, { plugins })`). */
  readonly kernel: Kernel;
  /** A storage of the driver's type, defined in that kernel, with the content types to test enabled. */
  readonly storageId: string;
  /**
   * A second storage in the same kernel (any type that imports `raw+size`) used as the target
   * of cross-storage copies. Without it, copies are only tested within `storageId`.
   */
  readonly copyTargetStorageId?: string;
  /** Called after the test's own cleanup (remove pools, stop daemons...). */
  readonly teardown?: () => unknown;
}

/** Options of {@link storageConformanceSuite}. */
export interface StorageConformanceOptions {
  /** Prefix of every test title (`dir`, `acme-s3`...). */
  readonly name: string;
  /** Makes a fresh storage for one test. Called once per test; the suite frees what it allocated. */
  readonly setup: (t: ExecutionContext) => Promise<StorageUnderTest>;
  /**
   * Volume formats to exercise. Default: every format in `info.formats`. Narrow it where the
   * host cannot do a format (e.g. zvols under zfs-fuse) and say why in your test file.
   */
  readonly formats?: readonly VolumeFormat[];
  /**
   * Volume names of OTHER storage types that this driver must refuse with
   * `InvalidVolumeIdError` (e.g. for `dir`: `vm-100-disk-0`; for `rbd`: `100/vm-100-disk-0.qcow2`).
   */
  readonly foreignVolnames?: readonly string[];
  /** Checks to leave out (document the reason next to the call). */
  readonly skip?: readonly ConformanceCheckId[];
  /**
   * Declares that the driver cannot allocate volumes, and why (`'LUNs are made on the iSCSI
   * target'`): its volumes exist outside Corral, as Proxmox's iSCSI types die on
   * `alloc_image`. The checks that need an allocation ({@link ALLOCATING_CHECKS}) are then
   * registered as skipped, each title naming this declaration; `info` no longer demands a
   * `raw+size` import (it demands that the driver imports nothing), and one more check
   * ({@link NO_ALLOCATION_CHECK}) proves the declaration: the record says `allocates: false`,
   * and `allocate` and `raw+size` import are refused with `NotSupportedError` before the
   * driver runs and leave nothing. Without this declaration a driver is expected to
   * allocate, and fails the allocation checks when it cannot.
   */
  readonly cannotAllocate?: string;
  /** Register the tests with `test.serial` (for backends that cannot take parallel tests). */
  readonly serial?: boolean;
  /** How much larger than requested a volume may be (allocation rounding). Default 4 MiB. */
  readonly sizeSlackBytes?: number;
}

/** A recorded driver call (see {@link ConformanceEnv.spy}). */
export interface DriverSpy {
  /** Argument lists of every call since the spy was made. */
  readonly calls: unknown[][];
  /** True when a call passed `volname` as its second argument (after the context). */
  calledWith(volname: string): boolean;
  restore(): void;
}

/** First guest id used by a test run; ids are spread so that tests sharing a backend do not collide. */
let nextVmid = 100_000 + Math.floor(Math.random() * 800_000);

/**
 * Everything one conformance test needs: the facade, the driver (for spies), its capability
 * record, fresh guest ids, and cleanup of every volume those ids own.
 */
export class ConformanceEnv {
  readonly storage: StorageFacade;
  readonly runner: CommandRunner;
  readonly #vmids = new Set<number>();
  readonly #resolved: string[] = [];

  private constructor(
    readonly t: ExecutionContext,
    readonly options: StorageConformanceOptions,
    readonly kernel: Kernel,
    readonly sid: string,
    readonly target: string | undefined,
    readonly def: StorageDefinition,
    readonly driver: StorageDriver,
  ) {
    this.storage = kernel.storage;
    this.runner = kernel.get(coreServices.commandRunner);
  }

  /** Runs the suite's setup and registers cleanup (free every volume of the test's guest ids, then the user's teardown). */
  static async open(t: ExecutionContext, options: StorageConformanceOptions): Promise<ConformanceEnv> {
    const sut = await options.setup(t);
    const def = await sut.kernel.storage.get(sut.storageId);
    const driver = sut.kernel.extensions(extensionPoints.storageDrivers).get(def.type);
    if (!driver) throw new Error(`no driver for storage type '${def.type}' is loaded in the kernel given by setup`);
    const env = new ConformanceEnv(t, options, sut.kernel, sut.storageId, sut.copyTargetStorageId, def, driver);
    t.teardown(async () => {
      await env.#cleanup();
      await sut.teardown?.();
    });
    return env;
  }

  /** The capability record of the storage under test (`infoFor(definition)`, else the type's `info`). */
  get info(): StorageDriverInfo {
    return storageInfoFor(this.driver, this.def);
  }

  /** Allowed rounding of allocations, bytes. */
  get slack(): number {
    return this.options.sizeSlackBytes ?? 4 * MiB;
  }

  /** A guest id no other test of this run uses. */
  vmid(): number {
    const id = nextVmid++;
    this.#vmids.add(id);
    return id;
  }

  /** The formats under test that the driver can allocate. */
  get formats(): VolumeFormat[] {
    const wanted = this.options.formats ?? this.info.formats;
    return this.info.formats.filter((f) => wanted.includes(f));
  }

  /** Image formats under test, when the storage holds `images`. */
  get imageFormats(): VolumeFormat[] {
    if (!this.def.content.includes('images')) return [];
    return this.formats.filter((f) => f !== 'subvol');
  }

  /** The image format used where any will do: the driver's default when tested, else the first tested one. */
  get defaultImageFormat(): VolumeFormat | undefined {
    const f = this.imageFormats;
    return f.includes(this.info.defaultFormat) ? this.info.defaultFormat : f[0];
  }

  /** True when container subvols are tested (format `subvol` and content `rootdir`). */
  get subvolTested(): boolean {
    return this.formats.includes('subvol') && this.def.content.includes('rootdir');
  }

  has(feature: VolumeFeature, state: VolumeState, format: VolumeFormat): boolean {
    return hasVolumeFeature(this.info, feature, state, format);
  }

  /**
   * True when container volumes (subvols) have a size: the record declares `resize` for
   * `subvol` (a quota that can be set and grown). Otherwise the suite never asks for a subvol
   * with a size and never checks one.
   */
  get subvolSized(): boolean {
    return this.has('resize', 'current', 'subvol');
  }

  /**
   * Asserts that `call` is refused by the facade with `NotSupportedError` naming capability
   * `feature` (as its `operation` or in its message), and that the driver's `method` never
   * received `volname` meanwhile.
   */
  async assertRefused(
    call: () => Promise<unknown>,
    refused: { feature: VolumeFeature; state: VolumeState; format: VolumeFormat; method: keyof StorageDriver & string; volname: string },
  ): Promise<void> {
    const what = capabilityName(refused.feature, refused.state, refused.format);
    const spy = this.spy(refused.method);
    try {
      const err = await this.t.throwsAsync(call, { code: ErrorCodes.notSupported }, `${what} is not declared: expected NotSupportedError`);
      const named = (err as { operation?: string } | undefined)?.operation === refused.feature || (err?.message ?? '').includes(refused.feature);
      this.t.true(named, `the refusal of ${what} names the capability '${refused.feature}' (got: ${err?.message})`);
      this.t.false(spy.calledWith(refused.volname), `driver.${refused.method} ran although ${what} is not declared`);
    } finally {
      spy.restore();
    }
  }

  /** Allocates an image (content `images`) of `format`, default 8 MiB. */
  async allocImage(format: VolumeFormat, options: { vmid?: number; sizeBytes?: number; name?: string } = {}): Promise<string> {
    return this.storage.allocate({
      storage: this.sid,
      vmid: options.vmid ?? this.vmid(),
      sizeBytes: options.sizeBytes ?? 8 * MiB,
      format,
      name: options.name,
    });
  }

  /** Resolves a volume for `consumer` (default `host`); deactivated again at cleanup. */
  async access(volid: string, consumer: VolumeConsumer = 'host'): Promise<VolumeAccess> {
    const access = await this.storage.resolve(volid, { consumer });
    this.#resolved.push(volid);
    this.t.true(this.info.accessKinds.includes(access.kind), `resolve(${volid}) answered kind '${access.kind}', not in info.accessKinds`);
    return access;
  }

  /** Ends a resolve (before snapshots, rollbacks, frees that need the volume unmapped). */
  async release(volid: string): Promise<void> {
    await this.storage.deactivateVolume(volid);
  }

  /**
   * Wraps a driver method to record its calls (the call still goes through). Used to prove
   * that the facade refused something before the driver ran.
   */
  spy(method: keyof StorageDriver & string): DriverSpy {
    const target = this.driver as unknown as Record<string, unknown>;
    const original = target[method] as (...args: unknown[]) => unknown;
    const own = Object.prototype.hasOwnProperty.call(target, method);
    const calls: unknown[][] = [];
    target[method] = function (this: unknown, ...args: unknown[]) {
      calls.push(args);
      return original.apply(this, args);
    };
    return {
      calls,
      calledWith: (volname) => calls.some((a) => a[1] === volname),
      restore: () => {
        if (own) target[method] = original;
        else delete target[method];
      },
    };
  }

  /** Asserts that no volume of the test's guest ids is left on the storage (and on the copy target). */
  async assertClean(): Promise<void> {
    for (const sid of this.#storages()) {
      for (const vmid of this.#vmids) {
        const left = await this.storage.listVolumes(sid, { vmid });
        this.t.deepEqual(
          left.map((v) => v.volid),
          [],
          `volumes of guest ${vmid} left on '${sid}' after free`,
        );
      }
    }
  }

  #storages(): string[] {
    return this.target ? [this.sid, this.target] : [this.sid];
  }

  /** Best effort: frees what a failed test left (clones before bases). */
  async #cleanup(): Promise<void> {
    for (const volid of this.#resolved) await this.storage.deactivateVolume(volid).catch(() => undefined);
    for (const sid of this.#storages()) {
      for (let round = 0; round < 3; round++) {
        let left: string[] = [];
        for (const vmid of this.#vmids) {
          const vols = await this.storage.listVolumes(sid, { vmid }).catch(() => []);
          left.push(...vols.sort((a, b) => Number(a.isBase) - Number(b.isBase)).map((v) => v.volid));
        }
        left = [...new Set(left)];
        if (left.length === 0) break;
        for (const volid of left) {
          await this.storage.setAttributes(volid, { protected: false }).catch(() => undefined);
          await this.storage.free(volid).catch(() => undefined);
        }
      }
    }
  }
}

/** How the suite names a capability in its messages: `capability 'snapshot' (raw, state current)`. */
export function capabilityName(feature: VolumeFeature, state: VolumeState, format: VolumeFormat): string {
  return `capability '${feature}' (${format}, state ${state})`;
}

export type { ConformanceCheckId };
