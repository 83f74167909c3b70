/**
 * The x86 CPU models a VM may name (`cpu: MODEL`), with the vendor qemu-server reports for
 * each: a named model also gets `vendor=` on the `-cpu` line, so the guest sees the vendor
 * the model belongs to whatever the host is. Generic models take the host's vendor.
 *
 * @packageDocumentation
 */

/** Models without a vendor of their own (the guest sees the host's). */
const GENERIC_MODELS = ['host', 'max', 'kvm32', 'kvm64', 'qemu32', 'qemu64'] as const;

/** Intel models, including the `Icelake-Client` names QEMU 7.1 dropped (started as `Icelake-Server`). */
const INTEL_MODELS = [
  '486', 'pentium', 'pentium2', 'pentium3', 'coreduo', 'core2duo', 'Conroe', 'Penryn', 'Nehalem', 'Nehalem-IBRS',
  'Westmere', 'Westmere-IBRS', 'SandyBridge', 'SandyBridge-IBRS', 'IvyBridge', 'IvyBridge-IBRS', 'Haswell',
  'Haswell-IBRS', 'Haswell-noTSX', 'Haswell-noTSX-IBRS', 'Broadwell', 'Broadwell-IBRS', 'Broadwell-noTSX',
  'Broadwell-noTSX-IBRS', 'Skylake-Client', 'Skylake-Client-IBRS', 'Skylake-Client-noTSX-IBRS', 'Skylake-Client-v4',
  'Skylake-Server', 'Skylake-Server-IBRS', 'Skylake-Server-noTSX-IBRS', 'Skylake-Server-v4', 'Skylake-Server-v5',
  'Cascadelake-Server', 'Cascadelake-Server-v2', 'Cascadelake-Server-noTSX', 'Cascadelake-Server-v4',
  'Cascadelake-Server-v5', 'Cooperlake', 'Cooperlake-v2', 'KnightsMill', 'Icelake-Client', 'Icelake-Client-noTSX',
  'Icelake-Server', 'Icelake-Server-noTSX', 'Icelake-Server-v3', 'Icelake-Server-v4', 'Icelake-Server-v5',
  'Icelake-Server-v6', 'Icelake-Server-v7', 'SapphireRapids', 'SapphireRapids-v2', 'SapphireRapids-v3',
  'SapphireRapids-v4', 'GraniteRapids', 'GraniteRapids-v2', 'GraniteRapids-v3', 'SierraForest', 'SierraForest-v2',
  'SierraForest-v3', 'ClearwaterForest',
] as const;

/** AMD models. */
const AMD_MODELS = [
  'athlon', 'phenom', 'Opteron_G1', 'Opteron_G2', 'Opteron_G3', 'Opteron_G4', 'Opteron_G5', 'EPYC', 'EPYC-IBPB',
  'EPYC-v3', 'EPYC-v4', 'EPYC-v5', 'EPYC-Rome', 'EPYC-Rome-v2', 'EPYC-Rome-v3', 'EPYC-Rome-v4', 'EPYC-Rome-v5',
  'EPYC-Milan', 'EPYC-Milan-v2', 'EPYC-Milan-v3', 'EPYC-Genoa', 'EPYC-Genoa-v2', 'EPYC-Turin',
] as const;

/** Model name → the vendor it reports (`GenuineIntel`, `AuthenticAMD`), or undefined for a generic model. */
export const QEMU_CPU_MODEL_VENDORS: ReadonlyMap<string, string | undefined> = new Map<string, string | undefined>([
  ...GENERIC_MODELS.map((m) => [m, undefined] as const),
  ...INTEL_MODELS.map((m) => [m, 'GenuineIntel'] as const),
  ...AMD_MODELS.map((m) => [m, 'AuthenticAMD'] as const),
]);
