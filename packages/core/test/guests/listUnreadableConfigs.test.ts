/**
 * A guest config that cannot be read (EACCES here, EIO on a failing disk) does not take the
 * node's guest list with it: that guest is listed as broken with the reason, the others as usual.
 * Real: the lister runs as an unprivileged user (setpriv, uid 65534) and one config is
 * root-only.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from '../../src/testing/tempDir.js';
import { hasProgram, realTest } from '../../src/testing/requireReal.js';

const NOBODY = 65534;
const asOtherUserTest = realTest(test, process.getuid?.() === 0 && hasProgram('setpriv'), 'needs root and setpriv (util-linux) to run the lister as another user');

asOtherUserTest('a config that cannot be read (EACCES) is listed as broken with the reason; the rest of the list is unaffected', async (t) => {
  const base = await makeTempDir(t, 'corral-unreadable-');
  await chmod(base, 0o755);
  const dataDir = join(base, 'data');
  const runDir = join(base, 'run');
  const dir = join(dataDir, 'nodes', 'testnode', 'qemu-server');
  await mkdir(dir, { recursive: true });
  await mkdir(runDir);
  await writeFile(join(dir, '100.conf'), 'memory: 512\nname: web\n');
  await writeFile(join(dir, '101.conf'), 'memory: 512\nname: secret\n', { mode: 0o600 });
  await writeFile(join(dir, '102.conf'), 'memory: 256\nname: db\n');
  for (const d of [base, dataDir, join(dataDir, 'nodes'), join(dataDir, 'nodes', 'testnode'), dir, runDir, join(dir, '100.conf'), join(dir, '102.conf')]) {
    await chown(d, NOBODY, NOBODY);
  }
  // 101.conf stays root's, mode 0600: the unprivileged lister gets EACCES for real.
  const fixture = fileURLToPath(new URL('./fixtures/listGuests.js', import.meta.url));
  const { stdout } = await promisify(execFile)('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, fixture, dataDir, runDir], {
    timeout: 60_000,
  });
  const list = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { vmid: number; status: string; name?: string; code?: string; message?: string });
  t.deepEqual(
    list.map((g) => [g.vmid, g.status, g.name]),
    [
      [100, 'stopped', 'web'],
      [101, 'unknown', undefined],
      [102, 'stopped', 'db'],
    ],
  );
  t.is(list[1]!.code, 'CORRAL_ERR_UNAVAILABLE');
  t.regex(list[1]!.message!, /101\.conf.*EACCES/);
});
