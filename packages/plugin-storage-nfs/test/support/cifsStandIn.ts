import { writeShareFiles } from '@corral/core';
import { StandInShareMounter } from './StandInShareMounter.js';

/**
 * The stand-in mounter of the cifs tests: `mount` writes the share's credentials file as the
 * kernel mounter does, then checks for real that smbd serves the share (a guest
 * `smbclient <//server/share> -d 0 -U Guest -N -c 'echo 1 0'` through the runner).
 */
export function cifsStandInMounter(): StandInShareMounter {
  return new StandInShareMounter(async (runner, share) => {
    await writeShareFiles(share);
    await runner.run(['smbclient', share.source, '-d', '0', '-U', 'Guest', '-N', '-c', 'echo 1 0'], { timeoutMs: 10_000 });
  });
}
