import { nfsProbeArgv, parseShowmountExports } from '../../src/index.js';
import { StandInShareMounter } from './StandInShareMounter.js';

/**
 * The stand-in mounter of the nfs tests: `mount` checks for real that the server exports the
 * storage's export (`showmount --no-headers --exports <server>` through the runner).
 */
export function nfsStandInMounter(): StandInShareMounter {
  return new StandInShareMounter(async (runner, share) => {
    const [server, exp] = [share.source.slice(0, share.source.indexOf(':')), share.source.slice(share.source.indexOf(':') + 1)];
    const res = await runner.run(nfsProbeArgv(server, undefined), { timeoutMs: 10_000 });
    if (!parseShowmountExports(res.stdout).includes(exp)) throw new Error(`${server} does not export ${exp}`);
  });
}
