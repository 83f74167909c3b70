import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeCommandRunner } from '@corral/core';
import { hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { hasPattern, MiB, readMarkerFile, writeMarkerFile, writePattern } from '../src/index.js';

const runner = new NodeCommandRunner();
const qemuTest = realTest(test, hasProgram('qemu-io') && hasProgram('qemu-img'), 'qemu-utils is not installed');

test('raw files: a written pattern reads back, a different byte or range does not', async (t) => {
  const dir = await makeTempDir(t);
  const path = join(dir, 'disk.raw');
  await writeFile(path, Buffer.alloc(4 * MiB));
  const access = { kind: 'file', path, format: 'raw' } as const;
  t.true(await hasPattern(runner, access, { offset: 0, length: MiB, byte: 0 }));
  await writePattern(runner, access, { offset: MiB, length: MiB, byte: 0xab });
  t.true(await hasPattern(runner, access, { offset: MiB, length: MiB, byte: 0xab }));
  t.false(await hasPattern(runner, access, { offset: MiB, length: MiB, byte: 0xac }), 'another byte');
  t.false(await hasPattern(runner, access, { offset: MiB / 2, length: MiB, byte: 0xab }), 'a range only half written');
  t.false(await hasPattern(runner, access, { offset: 4 * MiB - 512, length: MiB, byte: 0 }), 'a range past the end');
});

qemuTest('qcow2 files go through qemu-io: mismatches are detected', async (t) => {
  const dir = await makeTempDir(t);
  const path = join(dir, 'disk.qcow2');
  await runner.run(['qemu-img', 'create', '-f', 'qcow2', path, String(4 * MiB)]);
  const access = { kind: 'file', path, format: 'qcow2' } as const;
  await writePattern(runner, access, { offset: 0, length: MiB, byte: 0x5c });
  t.true(await hasPattern(runner, access, { offset: 0, length: MiB, byte: 0x5c }));
  t.false(await hasPattern(runner, access, { offset: 0, length: MiB, byte: 0x5d }));
  t.true(await hasPattern(runner, access, { offset: 2 * MiB, length: MiB, byte: 0 }));
});

test('directories: marker files', async (t) => {
  const dir = await makeTempDir(t);
  const access = { kind: 'directory', path: dir } as const;
  t.is(await readMarkerFile(access, 'etc/hostname'), undefined);
  await writeMarkerFile(access, 'etc/hostname', 'ct\n');
  t.is(await readMarkerFile(access, 'etc/hostname'), 'ct\n');
  await t.throwsAsync(writePattern(runner, access, { offset: 0, length: 1, byte: 1 }), { message: /directory/ });
});
