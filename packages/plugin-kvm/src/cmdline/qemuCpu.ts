/**
 * The `-cpu` argument, as qemu-server computes it: the model (Proxmox's built-in `x86-64-vN`
 * models are `qemu64` plus flags), an optional CPUID `level`, every flag resolved by name
 * (Proxmox's own flags, then Hyper-V enlightenments, the model's, the VM's, and the forced
 * ones: a later source wins) and printed sorted by name, then `guest-phys-bits` and
 * `phys-bits`.
 *
 * @packageDocumentation
 */
import type { QemuConfig } from '../config/QemuConfig.js';
import { X86_64_LEVELS } from '../config/parseQemuConfig.js';
import { QEMU_CPU_MODEL_VENDORS } from '../config/cpuModels.js';
import { windowsVersion } from '../config/windowsVersion.js';
import { machineAtLeast, type MachineVersion } from './machineVersion.js';

/** What {@link cpuArgument} needs to know besides the config. */
export interface CpuArgumentContext {
  readonly accel: 'kvm' | 'tcg';
  /** The machine version the VM runs (Hyper-V flags depend on it). */
  readonly machineVersion: MachineVersion;
  /** `major.minor` of the QEMU binary (some flags exist only from a QEMU release on). */
  readonly qemuVersion: readonly [number, number];
  /** The host CPU's vendor (`GenuineIntel`, `AuthenticAMD`), when known. */
  readonly hostCpuVendor?: string;
  /** CPU models this host's KVM cannot run, with the reason (`host`/`max` probes). */
  readonly kvmCpuUnusable?: Readonly<Record<string, string>>;
  /** Decisions for the task log are pushed here. */
  readonly warnings: string[];
}

/** The model used under KVM in place of a `host`/`max` that this host's KVM cannot run (Proxmox's default model). */
export const KVM_SAFE_CPU_MODEL = 'x86-64-v2-AES';

/** Model names QEMU dropped, with the model Proxmox starts instead. */
const DEPRECATED_MODELS: Readonly<Record<string, string>> = {
  'Icelake-Client': 'Icelake-Server',
  'Icelake-Client-noTSX': 'Icelake-Server-noTSX',
};

/** One resolved flag: `+name`, `-name`, `name` or `name=value`. */
type CpuFlag = { readonly op: '' | '+' | '-'; readonly value?: string };

/**
 * The `-cpu` value of `config` (see the module comment). A `host` or `max` model that this
 * host's KVM cannot run becomes {@link KVM_SAFE_CPU_MODEL}, and `host` under TCG becomes
 * `max` (not enforced, as `host` is not), each with a warning. Named models stay enforced
 * under a TCG fallback when the config asks for KVM, so the guest sees the CPU it would get.
 */
export function cpuArgument(c: QemuConfig, ctx: CpuArgumentContext): string {
  const kvm = ctx.accel === 'kvm';
  let model = c.cpu.type;
  const unusable = kvm ? ctx.kvmCpuUnusable?.[model] : undefined;
  if (unusable !== undefined) {
    ctx.warnings.push(`cpu '${model}' does not run under this host's KVM (${unusable}): using '${KVM_SAFE_CPU_MODEL}' instead`);
    model = KVM_SAFE_CPU_MODEL;
  }
  const modelFlags = X86_64_LEVELS[model] ?? [];
  if (model in X86_64_LEVELS) model = 'qemu64';
  model = DEPRECATED_MODELS[model] ?? model;
  // `host` is never enforced (it is whatever the host has); neither is the `max` standing in for it under TCG.
  const enforceable = model !== 'host';
  if (model === 'host' && !kvm) {
    ctx.warnings.push("cpu 'host' needs KVM: using 'max' under TCG");
    model = 'max';
  }
  const win = windowsVersion(c.ostype);
  const at = (major: number, minor: number, pve = 0): boolean => machineAtLeast(ctx.machineVersion, major, minor, pve);

  const flags = new Map<string, CpuFlag>();
  const set = (name: string, flag: CpuFlag): void => void flags.set(name, flag);
  const setAll = (list: readonly string[]): void => {
    for (const f of list) {
      const op = f[0] === '+' || f[0] === '-' ? f[0] : '';
      const body = op ? f.slice(1) : f;
      const eq = body.indexOf('=');
      set(eq < 0 ? body : body.slice(0, eq), eq < 0 ? { op } : { op, value: body.slice(eq + 1) });
    }
  };
  // Proxmox's own flags.
  if (model === 'kvm64') set('lahf_lm', { op: '+' });
  if (c.ostype === 'solaris') set('x2apic', { op: '-' });
  if (model === 'kvm64' || model === 'kvm32') set('sep', { op: '+' });
  if (model.startsWith('Opteron')) set('rdtscp', { op: '-' });
  if (kvm && at(2, 3)) {
    set('kvm_pv_unhalt', { op: '+' });
    set('kvm_pv_eoi', { op: '+' });
  }
  if (machineAtLeast(ctx.qemuVersion, 11, 0) && win >= 11) {
    set('cet-ibt', { op: '-' });
    set('cet-ss', { op: '-' });
  }
  if (machineAtLeast(ctx.qemuVersion, 11, 0) && model === 'host' && !at(11, 0)) set('vmx-mbec', { op: '-' });
  // Hyper-V enlightenments for Windows (Vista/2008 and later; with OVMF only 8 and later).
  const gpuPassthrough = c.hostpci.some((h) => h.xvga);
  if (kvm && win >= 6 && !(c.bios === 'ovmf' && win < 8)) {
    if (gpuPassthrough || c.cpu.hvVendorId !== undefined) set('hv_vendor_id', { op: '', value: c.cpu.hvVendorId ?? 'proxmox' });
    if (at(2, 3)) {
      set('hv_spinlocks', { op: '', value: '0x1fff' });
      set('hv_vapic', { op: '' });
      set('hv_time', { op: '' });
    } else {
      set('hv_spinlocks', { op: '', value: '0xffff' });
    }
    if (at(2, 6)) for (const f of ['hv_reset', 'hv_vpindex', 'hv_runtime']) set(f, { op: '' });
    if (win >= 7) {
      set('hv_relaxed', { op: '' });
      if (at(2, 12)) {
        set('hv_synic', { op: '' });
        set('hv_stimer', { op: '' });
      }
      if (at(3, 1)) set('hv_ipi', { op: '' });
    }
    if (ctx.hostCpuVendor === 'GenuineIntel' && win >= 11 && at(11, 0, 2)) set('hv_evmcs', { op: '' });
  }
  setAll(modelFlags);
  setAll(c.cpu.flags);
  // Forced: named models are enforced (QEMU refuses to start rather than drop a flag); kvm=off hides KVM.
  if (enforceable && c.kvm) set('enforce', { op: '' });
  if (c.cpu.hidden || gpuPassthrough) set('kvm', { op: '', value: 'off' });
  const vendor = QEMU_CPU_MODEL_VENDORS.get(model);
  if (vendor !== undefined) set('vendor', { op: '', value: vendor });

  let out = model;
  if (c.cpu.level !== undefined) out += `,level=${c.cpu.level}`;
  for (const name of [...flags.keys()].sort()) {
    const f = flags.get(name)!;
    out += `,${f.op}${name}${f.value ? `=${f.value}` : ''}`;
  }
  if (c.cpu.guestPhysBits !== undefined) out += `,guest-phys-bits=${c.cpu.guestPhysBits}`;
  if (c.cpu.physBits === 'host') out += ',host-phys-bits=true';
  else if (c.cpu.physBits !== undefined) out += `,phys-bits=${c.cpu.physBits}`;
  return out;
}
