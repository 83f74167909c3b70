/**
 * The `.fw` fixture corpus: Proxmox's own test and example files (pve-firewall's `test/` and
 * `debian/example/`, copied as they are) and Corral's fixtures, read from the source tree.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FwFileKind } from '../../src/index.js';

/** The fixtures directory in the source tree (tests run from dist/test/fw). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../test/fw/fixtures/', import.meta.url));

/** One fixture file. */
export interface FwFixture {
  /** Path below the fixtures directory (`proxmox/test-basic1/100.fw`). */
  readonly name: string;
  readonly kind: FwFileKind;
  readonly bytes: Buffer;
  /** The directory's `cluster.fw`, for guest and host files. */
  readonly clusterBytes?: Buffer;
}

/** The kind of a file by its name (vnet files live in a directory named `vnet`). */
export function kindOf(fileName: string): FwFileKind {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  if (base !== 'cluster.fw' && fileName.includes('/vnet/')) return 'vnet';
  return base === 'cluster.fw' ? 'cluster' : base === 'host.fw' ? 'host' : 'vm';
}

function walk(dir: string, prefix: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    return statSync(full).isDirectory() ? walk(full, `${prefix}${entry}/`) : entry.endsWith('.fw') ? [`${prefix}${entry}`] : [];
  });
}

/** Every fixture below `subdir` (`proxmox`, `corral`, `invalid`), sorted by name. */
export function loadFixtures(subdir: string): FwFixture[] {
  return walk(join(FIXTURES_DIR, subdir), `${subdir}/`)
    .sort()
    .map((name) => {
      const kind = kindOf(name);
      const clusterPath = join(FIXTURES_DIR, name.slice(0, name.lastIndexOf('/')), 'cluster.fw');
      let clusterBytes: Buffer | undefined;
      if (kind !== 'cluster') {
        try {
          clusterBytes = readFileSync(clusterPath);
        } catch {
          clusterBytes = undefined;
        }
      }
      return { name, kind, bytes: readFileSync(join(FIXTURES_DIR, name)), ...(clusterBytes ? { clusterBytes } : {}) };
    });
}
