import test, { type TestFn } from 'ava';
import { ALLOCATING_CHECKS, CONFORMANCE_CHECKS, NO_ALLOCATION_CHECK, sizeHeader, storageConformanceSuite, type ConformanceCheckId } from '../src/index.js';

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

test('cannotAllocate registers the allocation checks as skipped, naming the declaration, plus the check that proves it', (t) => {
  const r = recorder();
  storageConformanceSuite(r.fn, { name: 'san', setup, cannotAllocate: 'LUNs are made on the target', skip: ['upload'] });
  const skipped = r.titles.filter((x) => x.kind === 'skip').map((x) => x.title);
  t.deepEqual(
    skipped.filter((x) => x.endsWith('(not run: declared unable to allocate: LUNs are made on the target)')),
    ALLOCATING_CHECKS.map((id) => `san › ${CONFORMANCE_CHECKS[id]} (not run: declared unable to allocate: LUNs are made on the target)`),
  );
  t.deepEqual(skipped.filter((x) => x.endsWith("(skipped by the suite's options)")), [`san › ${CONFORMANCE_CHECKS.upload} (skipped by the suite's options)`]);
  const run = r.titles.filter((x) => x.kind === 'test').map((x) => x.title);
  t.true(run.includes(`san › ${CONFORMANCE_CHECKS.info}`), 'info runs (it checks that nothing is imported instead of raw+size)');
  t.is(run.at(-1), `san › ${NO_ALLOCATION_CHECK}`);
  t.is(run.length + skipped.length, Object.keys(CONFORMANCE_CHECKS).length + 1);
  const plain = recorder();
  storageConformanceSuite(plain.fn, { name: 'acme', setup });
  t.false(plain.titles.some((x) => x.title.includes(NO_ALLOCATION_CHECK)), 'without the declaration every check runs and allocation is expected');
});

test('bad options are refused at registration', (t) => {
  const r = recorder();
  t.throws(() => storageConformanceSuite(r.fn, { name: 'acme', setup, skip: ['nope' as ConformanceCheckId] }), { message: /unknown check 'nope'/ });
  t.throws(() => storageConformanceSuite(r.fn, { name: '', setup }), { instanceOf: TypeError });
  t.throws(() => storageConformanceSuite(r.fn, { name: 'acme', setup, cannotAllocate: ' ' }), { message: /cannotAllocate takes the reason/ });
  t.is(r.titles.length, 0);
});

test('sizeHeader is 8 bytes little-endian', (t) => {
  t.deepEqual([...sizeHeader(0x0102030405)], [5, 4, 3, 2, 1, 0, 0, 0]);
});
