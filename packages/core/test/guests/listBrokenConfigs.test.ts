/**
 * One guest config that does not parse does not take the node's guest list with it: the
 * guest is listed as broken (`status: 'unknown'` with the coded error), the others as usual,
 * and only operations on that guest fail, with the same error.
 */
import test from 'ava';
import { ErrorCodes, ParseError } from '../../src/errors.js';
import { createTestKernel } from '../../src/testing/createTestKernel.js';

const broken: Array<{ description: string; vmid: number; dir: 'qemu-server' | 'lxc'; text: string; expected: RegExp }> = [
  { description: 'U+2028 in a VM name', vmid: 102, dir: 'qemu-server', text: 'memory: 512\nname: a\u2028b\n', expected: /102\.conf:2: value of 'name' contains U\+2028/ },
  { description: 'a NUL in a container value', vmid: 200, dir: 'lxc', text: 'hostname: ct\0x\nmemory: 256\n', expected: /200\.conf:1: value of 'hostname' contains U\+0000 \(NUL\)/ },
  { description: 'a line that is no config line', vmid: 103, dir: 'qemu-server', text: 'memory: 512\nthis is not a config line\n', expected: /103\.conf:2: unable to parse config line/ },
];

test('a config that does not parse is listed as broken, the rest of the list is unaffected', async (t) => {
  const kernel = await createTestKernel(t);
  await kernel.config.write('nodes/testnode/qemu-server/100.conf', 'memory: 512\nname: web\n');
  await kernel.config.write('nodes/testnode/lxc/101.conf', 'hostname: ct1\nmemory: 256\n');
  for (const b of broken) await kernel.config.write(`nodes/testnode/${b.dir}/${b.vmid}.conf`, b.text);

  const list = await kernel.guests.list();
  t.deepEqual(
    list.map((g) => [g.vmid, g.status, g.name]),
    [
      [100, 'stopped', 'web'],
      [101, 'stopped', 'ct1'],
      [102, 'unknown', undefined],
      [103, 'unknown', undefined],
      [200, 'unknown', undefined],
    ],
  );
  t.is(list[0]!.error, undefined);
  for (const b of broken) {
    const entry = list.find((g) => g.vmid === b.vmid)!;
    t.true(entry.error instanceof ParseError, b.description);
    t.is(entry.error!.code, ErrorCodes.parse);
    t.regex(entry.error!.message, b.expected, b.description);
    // Only that guest fails, when used, with the same error.
    const err = await t.throwsAsync(kernel.guests.config(b.vmid), { instanceOf: ParseError });
    t.regex(err!.message, b.expected);
  }
  t.is((await kernel.guests.list({ type: 'lxc' })).length, 2);
});

test('a broken config that is fixed is listed normally again', async (t) => {
  const kernel = await createTestKernel(t);
  await kernel.config.write('nodes/testnode/qemu-server/100.conf', 'name: a\u2029b\n');
  t.is((await kernel.guests.list())[0]!.status, 'unknown');
  await kernel.config.write('nodes/testnode/qemu-server/100.conf', 'name: ab\n');
  const [entry] = await kernel.guests.list();
  t.like(entry, { vmid: 100, status: 'stopped', name: 'ab', error: undefined });
});
