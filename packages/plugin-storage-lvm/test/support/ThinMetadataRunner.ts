/**
 * A CommandRunner for lvmthin tests on a kernel without device-mapper: every command runs for
 * real (lvm2 with the test VG's private `LVM_SYSTEM_DIR`); only the kernel half of thin LV
 * creation and removal, which lvm2 cannot do here, is completed on the metadata:
 *
 * - `lvcreate -V …` and `lvcreate … -s <vg>/<origin>` run first for real: lvm2 checks the name,
 *   the pool, the origin and the space and only then refuses with "Can't create thin without
 *   using device-mapper kernel driver" (recorded in test/fixtures/lvcreate-thin-no-dm.txt).
 *   Exactly that refusal is taken as "everything lvm2 checks passed": the thin LV is then
 *   written into the VG metadata (vgcfgbackup/vgcfgrestore, as lvm2 would have written it)
 *   and the command answers success with empty output. Any other failure is passed on.
 * - `lvremove -f <vg>/<thin lv>` updates the metadata for real and then exits 5 with "Failed
 *   to update pool" (test/fixtures/lvremove-thin-no-dm.txt); when the LV is gone from `lvs`
 *   afterwards, that is answered as success.
 *
 * Commands run one at a time (metadata edits must not interleave).
 *
 * @packageDocumentation
 */
import { CommandFailedError, NodeCommandRunner, type CommandRunner, type RunOptions, type RunResult } from '@corral/core';
import { parseLvsReport } from '../../src/parseLvmReport.js';
import { LvmCommands } from '../../src/LvmCommands.js';
import type { LvmTestVg } from './LvmTestVg.js';

const NO_DM_THIN = /Can't create thin without using device-mapper kernel driver/;
const NO_DM_POOL_UPDATE = /Failed to update pool/;

/** Parses the KiB size of `-V <n>k`. */
function kib(value: string | undefined): number {
  const m = /^(\d+)k$/.exec(value ?? '');
  if (!m) throw new Error(`ThinMetadataRunner: size '${value}' is not <n>k`);
  return Number(m[1]) * 1024;
}

/** See the file comment. */
export class ThinMetadataRunner implements CommandRunner {
  readonly #real = new NodeCommandRunner();
  #queue: Promise<unknown> = Promise.resolve();
  /** Thin LVs this runner wrote into the metadata, by name. */
  readonly completed: string[] = [];

  constructor(private readonly vg: LvmTestVg) {}

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const next = this.#queue.then(() => this.#run(argv, options));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #lvs() {
    return parseLvsReport((await this.#real.run(LvmCommands.lvs(this.vg.vg), { env: this.vg.env })).stdout);
  }

  async #run(argv: readonly string[], options: RunOptions): Promise<RunResult> {
    try {
      return await this.#real.run(argv, options);
    } catch (err) {
      if (!(err instanceof CommandFailedError)) throw err;
      const ok: RunResult = { argv, exitCode: 0, stdout: '', stderr: '', truncated: false, durationMs: 0 };
      if (argv[0] === 'lvcreate' && NO_DM_THIN.test(err.stderr)) {
        await this.#completeCreate(argv);
        return ok;
      }
      if (argv[0] === 'lvremove' && NO_DM_POOL_UPDATE.test(err.stderr)) {
        const lv = argv.at(-1)!.split('/')[1];
        if (!(await this.#lvs()).some((x) => x.name === lv)) return ok;
      }
      throw err;
    }
  }

  async #completeCreate(argv: readonly string[]): Promise<void> {
    const name = argv[argv.indexOf(argv.includes('--name') ? '--name' : '-n') + 1]!;
    if (argv.includes('-V')) {
      const pool = argv[argv.indexOf('--thinpool') + 1]!.split('/')[1]!;
      await this.vg.addThinLvs(pool, [{ name, sizeBytes: kib(argv[argv.indexOf('-V') + 1]) }]);
    } else {
      const origin = argv[argv.indexOf('-s') + 1]!.split('/')[1]!;
      const o = (await this.#lvs()).find((x) => x.name === origin);
      if (!o?.pool) throw new Error(`ThinMetadataRunner: origin '${origin}' is not a thin LV`);
      const readOnly = argv.includes('-pr');
      await this.vg.addThinLvs(o.pool, [{ name, sizeBytes: o.sizeBytes, origin, readOnly, activationSkip: !argv.includes('-kn') }]);
    }
    this.completed.push(name);
  }
}
