import test, { type TestFn } from 'ava';
import { CONFORMANCE_CHECKS, sizeHeader, storageConformanceSuite, type ConformanceCheckId } from '../src/index.js';

/** A fake registrar that records titles instead of registering ava tests. */
function recorder() {
  const titles: Array<{ title: string; kind: 'test' | 'serial' | 'skip' }> = [];
  const fn = ((title: string) => titles.push({ title, kind: 'test' })) as unknown as TestFn;
  Object.assign(fn, {
    serial: (title: string) => titles.push({ title, kind: 'serial' }),
    skip: (title: string) => titles.push({ title, kind: 'skip' }),
  });
  return { fn, titles };
}

const setup = async () => {
  throw new Error('not called while registering');
};

test('registers one test per check, titled by name', (t) => {
  const r = recorder();
  storageConformanceSuite(r.fn, { name: 'acme', setup });
  t.deepEqual(
    r.titles.map((x) => x.title),
    Object.values(CONFORMANCE_CHECKS).map((title) => `acme › ${title}`),
  );
  t.true(r.titles.every((x) => x.kind === 'test'));
});

test('serial registers with test.serial; skip marks checks skipped, with the reason in the title', (t) => {
  const r = recorder();
  storageConformanceSuite(r.fn, { name: 'acme', setup, serial: true, skip: ['upload', 'subvol'] });
  t.is(r.titles.filter((x) => x.kind === 'serial').length, Object.keys(CONFORMANCE_CHECKS).length - 2);
  t.deepEqual(
    r.titles.filter((x) => x.kind === 'skip').map((x) => x.title),
    [`acme › ${CONFORMANCE_CHECKS.subvol} (skipped by the suite's options)`, `acme › ${CONFORMANCE_CHECKS.upload} (skipped by the suite's options)`],
  );
});

test('bad options are refused at registration', (t) => {
  const r = recorder();
  t.throws(() => storageConformanceSuite(r.fn, { name: 'acme', setup, skip: ['nope' as ConformanceCheckId] }), { message: /unknown check 'nope'/ });
  t.throws(() => storageConformanceSuite(r.fn, { name: '', setup }), { instanceOf: TypeError });
  t.is(r.titles.length, 0);
});

test('sizeHeader is 8 bytes little-endian', (t) => {
  t.deepEqual([...sizeHeader(0x0102030405)], [5, 4, 3, 2, 1, 0, 0, 0]);
});
