/**
 * Records the libiscsi and iscsiadm outputs in test/fixtures from the real tools:
 * `node dist/test/support/recordIscsiFixtures.js` (as root, from the package directory, with
 * tgt, libiscsi-bin and, for the iscsiadm files, open-iscsi installed). It starts a private
 * tgtd with two targets and writes each tool's stdout/stderr/exit code under a header naming
 * tool, version and date. The iscsiadm outputs are those of a host without the iscsi_tcp
 * kernel module (this one): no sessions, no node records, discovery refused.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, runTool, runToolOk } from '@corral/core/testing';
import { createTgtTestTarget } from './TgtTestTarget.js';

const FIXTURES = new URL('../../../test/fixtures/', import.meta.url).pathname;

async function version(argv: string[]): Promise<string> {
  const r = await runTool(['dpkg-query', '-W', '-f', '${Package} ${Version}', ...argv]);
  return r.stdout.trim() || 'unknown';
}

async function record(file: string, pkg: string, argv: string[], normalise: (s: string) => string): Promise<void> {
  const r = await runTool(argv);
  const header = [
    `# recorded ${new Date().toISOString().slice(0, 10)} from ${await version([pkg])} (Debian 12)`,
    `# argv: ${normalise(argv.join(' '))}`,
    `# exit: ${r.exitCode}`,
    '# --- stdout',
  ].join('\n');
  await writeFile(join(FIXTURES, file), `${header}\n${normalise(r.stdout)}# --- stderr\n${normalise(r.stderr)}`);
}

const tgt = await createTgtTestTarget({ parent: await makeTempDir(undefined, 'corral-iscsirec-'), luns: [{ lun: 1, sizeBytes: 64 * 1024 * 1024 }, { lun: 2, sizeBytes: 3 * 1024 ** 3 }] });
try {
  const second = `${tgt.target}-b`;
  const adm = ['tgtadm', '-C', String(tgt.controlPort), '--lld', 'iscsi'];
  await runToolOk([...adm, '--mode', 'target', '--op', 'new', '--tid', '2', '--targetname', second]);
  await writeFile(join(tgt.dir, 'b1.img'), '');
  await runToolOk(['truncate', '-s', '102400', join(tgt.dir, 'b1.img')]);
  await runToolOk([...adm, '--mode', 'logicalunit', '--op', 'new', '--tid', '2', '--lun', '1', '--backing-store', join(tgt.dir, 'b1.img')]);
  await runToolOk([...adm, '--mode', 'target', '--op', 'bind', '--tid', '2', '--initiator-address', 'ALL']);
  // Stable names in the fixtures: the portal and the IQNs of this run are replaced.
  const norm = (s: string) =>
    s.split(second).join('iqn.2026-12.org.corral.test:other').split(tgt.target).join('iqn.2026-12.org.corral.test:disks').split(tgt.portal).join('127.0.0.1:3260');
  const url = `iscsi://${tgt.portal}/${tgt.target}`;
  await record('iscsi-ls-two-targets.txt', 'libiscsi-bin', ['iscsi-ls', '-s', url], norm);
  await record('iscsi-readcapacity16-lun2.txt', 'libiscsi-bin', ['iscsi-readcapacity16', `${url}/2`], norm);
  await record('iscsi-readcapacity16-missing-lun.txt', 'libiscsi-bin', ['iscsi-readcapacity16', `${url}/9`], norm);
  await record('iscsi-readcapacity16-missing-target.txt', 'libiscsi-bin', ['iscsi-readcapacity16', `${url}-none/1`], norm);
  await record('iscsi-ls-refused.txt', 'libiscsi-bin', ['iscsi-ls', '-s', 'iscsi://127.0.0.1:9'], norm);
  await record('iscsiadm-session-none.txt', 'open-iscsi', ['iscsiadm', '--mode', 'session'], norm);
  await record('iscsiadm-node-none.txt', 'open-iscsi', ['iscsiadm', '--mode', 'node'], norm);
  await record('iscsiadm-discovery-no-iscsi-tcp.txt', 'open-iscsi', ['iscsiadm', '--mode', 'discovery', '--type', 'sendtargets', '--portal', tgt.portal], norm);
  await record('iscsiadm-update-no-record.txt', 'open-iscsi', ['iscsiadm', '--mode', 'node', '--targetname', tgt.target, '--op', 'update', '--name', 'node.session.initial_login_retry_max', '--value', '0'], norm);
  await record('iscsiadm-login-no-record.txt', 'open-iscsi', ['iscsiadm', '--mode', 'node', '--targetname', tgt.target, '--login'], norm);
} finally {
  await tgt.stop();
}
