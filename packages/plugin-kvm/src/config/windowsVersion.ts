/**
 * The Windows version of a guest's `ostype`, as qemu-server numbers it; most of its per-OS
 * defaults (timers, Hyper-V enlightenments, machine pinning) key on this number.
 *
 * @packageDocumentation
 */

/** The Windows version of an `ostype`: 5 for XP/2000/2003, 6 for Vista/2008, then 7, 8, 10, 11; 0 for any other OS. */
export function windowsVersion(ostype: string | undefined): number {
  if (ostype === 'wxp' || ostype === 'w2k' || ostype === 'w2k3') return 5;
  if (ostype === 'w2k8' || ostype === 'wvista') return 6;
  const m = ostype === undefined ? null : /^win(\d{1,2})$/.exec(ostype);
  return m ? Number(m[1]) : 0;
}
