/**
 * The test guest image (kernel + initramfs) built by
 * packages/plugin-kvm/scripts/build-test-guest.sh into `<repo>/.cache/test-guest/` (or
 * `$CORRAL_CACHE_DIR/test-guest/`).
 *
 * @packageDocumentation
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hasProgram } from '@corral/core/testing';
import { qemuAvailable } from './QemuProcess.js';

const execFileAsync = promisify(execFile);

/** The build script (this file runs from packages/plugin-kvm/dist/test/support/). */
export const BUILD_TEST_GUEST_SCRIPT = fileURLToPath(new URL('../../../scripts/build-test-guest.sh', import.meta.url));

/** manifest.json of a built image. */
export interface TestGuestImage {
  buildVersion: number;
  /** Serial protocol version the guest's /init speaks. */
  protocol: number;
  kernelPackage: string;
  kernelVersion: string;
  busyboxVersion: string;
  qemuGuestAgentVersion: string;
  /** Absolute path of the kernel. */
  kernel: string;
  /** Absolute path of the initramfs. */
  initrd: string;
  modules: string[];
  /** Kernel command line to boot with. */
  cmdline: string;
}

/**
 * Why the image cannot be built or booted here, or undefined when it can: needs root,
 * qemu-system-x86_64, busybox, dpkg-deb and apt-get (see debian-packages.txt).
 */
export function testGuestUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'building the test guest needs root (mknod)';
  if (!qemuAvailable()) return 'qemu-system-x86_64 is not installed (package qemu-system-x86)';
  for (const [program, pkg] of [
    ['busybox', 'busybox-static'],
    ['dpkg-deb', 'dpkg'],
    ['apt-get', 'apt'],
    ['qemu-img', 'qemu-utils'],
  ] as const) {
    if (!hasProgram(program)) return `${program} is not installed (package ${pkg})`;
  }
  return undefined;
}

let building: Promise<TestGuestImage> | undefined;

/**
 * Builds the image unless the cache is up to date (about 10 s the first time, 0.1 s after),
 * once per process, and returns its manifest. Concurrent test processes are serialized by
 * the script's lock. Rejects with the script's stderr when the build fails.
 */
export function ensureTestGuest(): Promise<TestGuestImage> {
  building ??= (async () => {
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync('bash', [BUILD_TEST_GUEST_SCRIPT], { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }));
    } catch (error) {
      building = undefined;
      const e = error as { stderr?: string; message: string };
      throw new Error(`build-test-guest.sh failed: ${e.message}\n${e.stderr ?? ''}`);
    }
    const outDir = stdout.trim().split('\n').at(-1)!;
    return JSON.parse(await readFile(`${outDir}/manifest.json`, 'utf8')) as TestGuestImage;
  })();
  return building;
}
