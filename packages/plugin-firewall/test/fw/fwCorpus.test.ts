/**
 * Round trip over the `.fw` corpus: every valid file of Proxmox's pve-firewall tests and
 * examples, the `.fw` snippets of pve-docs' firewall chapter, and Corral's own fixtures, parses and is written back byte for byte; the files
 * Proxmox's tests use for errors are refused naming file, line and what is wrong.
 */
import test from 'ava';
import { FwParseError, parseFwFile, writeFwFile, type FwDocument } from '../../src/index.js';
import { loadFixtures, type FwFixture } from './fixtures.js';

function clusterOf(f: FwFixture): FwDocument | undefined {
  if (!f.clusterBytes) return undefined;
  try {
    return parseFwFile(f.clusterBytes, { kind: 'cluster', fileName: 'cluster.fw' });
  } catch {
    return undefined;
  }
}

/** Proxmox's files that its own tests (or its verify_rule) treat as errors: file, line, kind, message part. */
const REFUSED: ReadonlyArray<readonly [name: string, line: number, kind: FwParseError['kind'], message: string]> = [
  ['proxmox/debian-example/cluster.fw', 33, 'reference', "no such ipset '+mynetgroup'"],
  ['proxmox/test-errors1/100.fw', 8, 'rule', "'-dport' needs a protocol"],
  ['proxmox/test-errors2/100.fw', 7, 'rule', "'-dport' needs a protocol"],
  ['proxmox/test-errors3/host.fw', 4, 'rule', "'-dport' needs a protocol"],
  ['proxmox/test-errors4/100.fw', 3, 'option', "unknown option 'dafadfsdf'"],
];

const corpus = [...loadFixtures('proxmox'), ...loadFixtures('pve-docs'), ...loadFixtures('corral')];

test('the corpus holds Proxmox files of every kind and Corral fixtures', (t) => {
  const kinds = new Set(corpus.map((f) => f.kind));
  t.deepEqual([...kinds].sort(), ['cluster', 'host', 'vm', 'vnet']);
  t.true(corpus.filter((f) => f.name.startsWith('proxmox/')).length >= 30);
  t.true(corpus.filter((f) => f.name.startsWith('pve-docs/')).length >= 10);
  t.true(corpus.filter((f) => f.name.startsWith('corral/')).length >= 3);
});

for (const fixture of corpus) {
  const refused = REFUSED.find(([name]) => name === fixture.name);
  if (refused) {
    const [, line, kind, message] = refused;
    test(`${fixture.name} is refused at line ${line} (${kind})`, (t) => {
      const err = t.throws(() => parseFwFile(fixture.bytes, { kind: fixture.kind, fileName: fixture.name, cluster: clusterOf(fixture) }), { instanceOf: FwParseError });
      t.is(err?.kind, kind);
      t.is(err?.line, line);
      t.is(err?.code, 'CORRAL_ERR_PARSE');
      t.true(err?.message.startsWith(`${fixture.name}:${line}: `), err?.message);
      t.true(err?.message.includes(message), err?.message);
    });
    continue;
  }
  test(`${fixture.name} parses and is written back byte for byte`, (t) => {
    const doc = parseFwFile(fixture.bytes, { kind: fixture.kind, fileName: fixture.name, cluster: clusterOf(fixture) });
    t.true(doc.sections.length > 0 || fixture.bytes.toString().trim() === '');
    t.is(writeFwFile(doc, { fileName: fixture.name }), fixture.bytes.toString('utf8'));
  });
}
