import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { QemuHostFeatures } from '../cmdline/QemuCommandLine.js';

/** Where Debian's `ovmf` package puts the firmware. */
const OVMF_DIR = '/usr/share/OVMF';

async function usable(path: string, mode = constants.R_OK): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * Probes what the host offers QEMU: a usable /dev/kvm (read-write), /dev/vhost-net, and the
 * OVMF firmware files. Cheap (a few `access` calls); the driver probes at every start, so a
 * host that gains KVM uses it from the next start on.
 */
export async function probeHostFeatures(options: { ovmfDir?: string } = {}): Promise<QemuHostFeatures> {
  const dir = options.ovmfDir ?? OVMF_DIR;
  const [kvm, vhostNet, code2m, vars2m, code4m, vars4m] = await Promise.all([
    usable('/dev/kvm', constants.R_OK | constants.W_OK),
    usable('/dev/vhost-net', constants.R_OK | constants.W_OK),
    usable(`${dir}/OVMF_CODE.fd`),
    usable(`${dir}/OVMF_VARS.fd`),
    usable(`${dir}/OVMF_CODE_4M.fd`),
    usable(`${dir}/OVMF_VARS_4M.fd`),
  ]);
  const ovmf: { '2m'?: { code: string; vars: string }; '4m'?: { code: string; vars: string } } = {};
  if (code2m && vars2m) ovmf['2m'] = { code: `${dir}/OVMF_CODE.fd`, vars: `${dir}/OVMF_VARS.fd` };
  if (code4m && vars4m) ovmf['4m'] = { code: `${dir}/OVMF_CODE_4M.fd`, vars: `${dir}/OVMF_VARS_4M.fd` };
  return { kvm, vhostNet, ovmf: Object.keys(ovmf).length > 0 ? ovmf : undefined };
}
