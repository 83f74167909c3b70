import type { ExecutionContext } from 'ava';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createKernel, type Kernel, type KernelOptions } from '../kernel/createKernel.js';
import { MemoryLogger } from '../util/Logger.js';
import { makeTempDir } from './tempDir.js';

/** A kernel for one test, with the logger whose lines tests can read. */
export interface TestKernel extends Kernel {
  readonly logger: MemoryLogger;
  /** The private directory holding dataDir (`<dir>/data`) and runDir (`<dir>/run`). */
  readonly dir: string;
}

/**
 * A kernel per test: node `testnode`, data and run directories in a private temp dir, an
 * in-memory logger. With an ava context, the kernel is disposed and the dir removed when the
 * test ends (guests the test started must be stopped by the test, before that).
 */
export async function createTestKernel(
  t: Pick<ExecutionContext, 'teardown'> | undefined,
  options: Partial<KernelOptions> = {},
): Promise<TestKernel> {
  const dir = await makeTempDir(undefined, 'corral-kernel-');
  const logger = new MemoryLogger();
  const kernel = await createKernel({
    node: 'testnode',
    dataDir: join(dir, 'data'),
    runDir: join(dir, 'run'),
    logger,
    ...options,
  });
  t?.teardown(async () => {
    await kernel.dispose();
    await rm(dir, { recursive: true, force: true });
  });
  return Object.assign(Object.create(null) as object, kernel, { logger, dir }) as TestKernel;
}
