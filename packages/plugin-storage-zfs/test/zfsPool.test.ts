import test from 'ava';
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { runTool, runToolOk } from '@corral/core/testing';
import { createZfsTestPool, ZFS_TEST_PROGRAMS } from './support/ZfsTestPool.js';

const zfsTest = realTest(test, ZFS_TEST_PROGRAMS.every(hasProgram), `needs ${ZFS_TEST_PROGRAMS.join(', ')} (Debian package zfs-fuse)`);

/** `zfs send <snap> | zfs recv <target>` with two processes and a pipe (no shell). */
function sendRecv(snapshot: string, target: string): Promise<{ send: number | null; recv: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const send = spawn('zfs', ['send', snapshot], { stdio: ['ignore', 'pipe', 'pipe'] });
    const recv = spawn('zfs', ['recv', target], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    send.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    recv.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    send.stdout.pipe(recv.stdin);
    const codes: { send?: number | null; recv?: number | null } = {};
    const done = () => {
      if ('send' in codes && 'recv' in codes) resolve({ send: codes.send ?? null, recv: codes.recv ?? null, stderr });
    };
    send.on('error', reject);
    recv.on('error', reject);
    send.on('close', (c) => {
      codes.send = c;
      done();
    });
    recv.on('close', (c) => {
      codes.recv = c;
      done();
    });
  });
}

zfsTest('a file-backed zfs-fuse pool: dataset with refquota, snapshot, clone, zfs get -Hp, send/recv, destroy', async (t) => {
  const base = await makeTempDir(t, 'corral-zfs-');
  const tp = await createZfsTestPool({ dir: base });
  try {
    const { pool, mountpoint } = tp;
    t.regex(pool, /^corraltest[0-9a-f]{8}$/);
    const ds = `${pool}/subvol-100-disk-0`;

    await runToolOk(['zfs', 'create', '-o', 'refquota=64M', ds]);
    await writeFile(join(mountpoint, 'subvol-100-disk-0', 'hello.txt'), 'hello from corral\n');
    await runToolOk(['zfs', 'snapshot', `${ds}@snap1`]);
    await runToolOk(['zfs', 'clone', `${ds}@snap1`, `${pool}/subvol-101-disk-0`]);
    t.is(await readFile(join(mountpoint, 'subvol-101-disk-0', 'hello.txt'), 'utf8'), 'hello from corral\n');

    const got = await runToolOk(['zfs', 'get', '-Hp', '-o', 'name,property,value', 'used,available,refquota', ds]);
    const props = Object.fromEntries(
      got.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t'))
        .map(([name, prop, value]) => {
          t.is(name, ds);
          return [prop, Number(value)];
        }),
    );
    t.is(props['refquota'], 64 * 1024 ** 2);
    t.true(props['used']! > 0);
    t.true(props['available']! > 0 && props['available']! <= 64 * 1024 ** 2);

    const origin = await runToolOk(['zfs', 'get', '-H', '-o', 'value', 'origin', `${pool}/subvol-101-disk-0`]);
    t.is(origin.stdout.trim(), `${ds}@snap1`);

    const sr = await sendRecv(`${ds}@snap1`, `${pool}/subvol-102-disk-0`);
    t.deepEqual([sr.send, sr.recv], [0, 0], sr.stderr);
    t.is(await readFile(join(mountpoint, 'subvol-102-disk-0', 'hello.txt'), 'utf8'), 'hello from corral\n');

    const names = (await runToolOk(['zfs', 'list', '-H', '-o', 'name', '-t', 'all', '-r', pool])).stdout.trim().split('\n');
    t.deepEqual(names.sort(), [
      pool,
      ds,
      `${ds}@snap1`,
      `${pool}/subvol-101-disk-0`,
      `${pool}/subvol-102-disk-0`,
      `${pool}/subvol-102-disk-0@snap1`,
    ].sort());

    // zfs-fuse: a mounted dataset whose files were read is "busy" for destroy; unmount first.
    // Under load it can stay busy for a moment after the unmount: retry as the driver does.
    await runToolOk(['zfs', 'unmount', `${pool}/subvol-101-disk-0`]);
    for (let attempt = 0; ; attempt++) {
      const destroyed = await runTool(['zfs', 'destroy', `${pool}/subvol-101-disk-0`]);
      if (destroyed.exitCode === 0) break;
      if (!/dataset is busy/.test(destroyed.stderr) || attempt >= 5) {
        t.fail(`zfs destroy: ${destroyed.stderr}`);
        break;
      }
      await runTool(['zfs', 'unmount', `${pool}/subvol-101-disk-0`]);
      await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
    }
    const gone = await runTool(['zfs', 'list', '-H', '-o', 'name', `${pool}/subvol-101-disk-0`]);
    t.not(gone.exitCode, 0);
    t.regex(gone.stderr, /dataset does not exist/);
  } finally {
    await tp.destroy();
    const after = await runTool(['zpool', 'list', '-H', '-o', 'name', tp.pool]);
    t.not(after.exitCode, 0, `pool ${tp.pool} still exists after destroy()`);
    await t.throwsAsync(stat(tp.dir), { code: 'ENOENT' });
    await tp.destroy(); // idempotent
  }
});
