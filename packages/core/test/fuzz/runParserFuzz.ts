/**
 * The parser fuzz driver: cases drawn from the grammar of `fuzzInputs.ts`, each run through
 * the parsers and serializers of core with the properties checked by {@link FuzzRun} (see
 * `parserFuzz.test.ts`).
 */
import { isDeepStrictEqual } from 'node:util';
import { parseGuestConfig, serializeGuestConfig, type GuestConfig, type GuestConfigSection } from '../../src/formats/guestConfig.js';
import { parsePropertyString, printPropertyString, type PropertyStringFormat } from '../../src/formats/propertyString.js';
import { parseSectionConfig, readSectionConfig, serializeSectionConfig, type SectionConfigContent } from '../../src/formats/sectionConfig.js';
import { startupFormat } from '../../src/formats/schema/commonFields.js';
import { lxcDeviceFormat, lxcFeaturesFormat } from '../../src/formats/schema/lxcConfig.js';
import { lxcMountPointFormat, lxcRootfsFormat } from '../../src/formats/schema/lxcMountPoint.js';
import { lxcNetFormat } from '../../src/formats/schema/lxcNet.js';
import { qemuEfidiskFormat, qemuIdeFormat, qemuScsiFormat, qemuVirtioFormat } from '../../src/formats/schema/qemuDrive.js';
import { qemuNetFormat } from '../../src/formats/schema/qemuNet.js';
import {
  qemuAgentFormat,
  qemuBootFormat,
  qemuCpuFormat,
  qemuHostpciFormat,
  qemuIpconfigFormat,
  qemuMachineFormat,
  qemuMemoryFormat,
  qemuMetaFormat,
  qemuNumaFormat,
  qemuSmbios1Format,
  qemuUsbFormat,
  qemuVgaFormat,
} from '../../src/formats/schema/qemuOptions.js';
import { validateGuestConfigFile } from '../../src/formats/schema/validateGuestConfig.js';
import { parseGuestDocument, serializeGuestDocument } from '../../src/guests/GuestDocument.js';
import { formatVolumeId, parseVolumeId } from '../../src/storage/volumeId.js';
import { FuzzRun, show } from './FuzzRun.js';
import { SeededRandom } from '../../src/testing/SeededRandom.js';
import {
  GUEST_CONFIG_CORPUS,
  guestConfigModel,
  guestConfigText,
  propertyText,
  PROPERTY_SAMPLES,
  storageConfigText,
  storageModel,
  volumeIdText,
} from './fuzzInputs.js';

interface TypedFormat {
  readonly name: string;
  parse(raw: string, key?: string): unknown;
  print(value: never, key?: string): string;
}

const TYPED_FORMATS: readonly TypedFormat[] = [
  qemuNetFormat, qemuScsiFormat, qemuIdeFormat, qemuVirtioFormat, qemuEfidiskFormat, qemuCpuFormat, qemuMachineFormat,
  qemuSmbios1Format, qemuHostpciFormat, qemuNumaFormat, qemuUsbFormat, qemuIpconfigFormat, qemuAgentFormat, qemuVgaFormat,
  qemuBootFormat, qemuMemoryFormat, startupFormat, qemuMetaFormat, lxcNetFormat, lxcMountPointFormat, lxcRootfsFormat,
  lxcFeaturesFormat, lxcDeviceFormat,
] as unknown as TypedFormat[];

const UNTYPED_FORMATS: readonly PropertyStringFormat[] = [{}, { defaultKey: 'file' }, { defaultKey: 'model', aliases: { virtio: { alias: 'macaddr', keyAlias: 'model' } } }];

function fuzzPropertyString(run: FuzzRun, r: SeededRandom): void {
  if (r.chance(0.3)) {
    const format = r.pick(UNTYPED_FORMATS);
    const text = propertyText(r, r.pick(Object.keys(PROPERTY_SAMPLES)));
    const parsed = run.call('parsePropertyString', text, () => parsePropertyString(text, format));
    if (!parsed.ok) return;
    const printed = run.call('printPropertyString', text, () => printPropertyString(parsed.value, format));
    run.expect(printed.ok, 'property string: accepted but not printable', text, printed.ok ? '' : printed.error.message);
    if (!printed.ok) return;
    run.roundTripped('property string (untyped)');
    const again = run.call('parsePropertyString', printed.value, () => parsePropertyString(printed.value, format));
    run.expect(again.ok && isDeepStrictEqual(again.value, parsed.value), 'property string: does not read back the same', text, `printed ${show(printed.value)}`);
    return;
  }
  const format = r.pick(TYPED_FORMATS);
  const text = propertyText(r, format.name);
  const parsed = run.call(`${format.name}.parse`, text, () => format.parse(text));
  if (!parsed.ok) return;
  const printed = run.call(`${format.name}.print`, text, () => format.print(parsed.value as never));
  run.expect(printed.ok, `${format.name}: accepted but not printable`, text, printed.ok ? '' : printed.error.message);
  if (!printed.ok) return;
  run.roundTripped(`property string (${format.name})`);
  const again = run.call(`${format.name}.parse`, printed.value, () => format.parse(printed.value));
  run.expect(again.ok && isDeepStrictEqual(again.value, parsed.value), `${format.name}: does not read back the same`, text, `printed ${show(printed.value)}`);
  if (again.ok) {
    const twice = run.call(`${format.name}.print`, printed.value, () => format.print(again.value as never));
    run.expect(twice.ok && twice.value === printed.value, `${format.name}: printing is not stable`, text, twice.ok ? show(twice.value) : '');
  }
}

function sectionView(s: GuestConfigSection | undefined): unknown {
  return s && { description: s.description, entries: s.entries.map((e) => [e.key, e.value]) };
}

function configView(c: GuestConfig): unknown {
  return {
    type: c.type,
    main: sectionView(c),
    pending: sectionView(c.pending),
    special: [...c.special].map(([n, s]) => [n, sectionView(s)]),
    snapshots: [...c.snapshots].map(([n, s]) => [n, sectionView(s)]),
  };
}

function fuzzGuestText(run: FuzzRun, r: SeededRandom): void {
  const type = r.chance(0.5) ? 'qemu' : 'lxc';
  checkGuestText(run, type, guestConfigText(r, type));
}

/** Properties (a) and (b) for one guest `.conf` text, as a config model and as a document. */
function checkGuestText(run: FuzzRun, type: 'qemu' | 'lxc', text: string): void {
  const parsed = run.call(`parseGuestConfig(${type})`, text, () => parseGuestConfig(text, { type }));
  if (!parsed.ok) return;
  run.call(`validateGuestConfigFile(${type})`, text, () => validateGuestConfigFile(parsed.value));
  const written = run.call(`serializeGuestConfig(${type})`, text, () => serializeGuestConfig(parsed.value));
  run.expect(written.ok, `${type} conf: accepted but not writable`, text, written.ok ? '' : written.error.message);
  if (!written.ok) return;
  run.roundTripped(`${type} conf`);
  const again = run.call(`parseGuestConfig(${type})`, written.value, () => parseGuestConfig(written.value, { type }));
  run.expect(again.ok && isDeepStrictEqual(configView(again.value), configView(parsed.value)), `${type} conf: does not read back the same`, text, `written ${show(written.value)}`);
  if (again.ok) {
    const twice = run.call(`serializeGuestConfig(${type})`, written.value, () => serializeGuestConfig(again.value));
    run.expect(twice.ok && twice.value === written.value, `${type} conf: writing is not stable`, text, twice.ok ? show(twice.value) : '');
  }
  const doc = run.call(`parseGuestDocument(${type})`, text, () => parseGuestDocument(type, text, 'fuzz'));
  if (!doc.ok) return;
  const docText = run.call(`serializeGuestDocument(${type})`, text, () => serializeGuestDocument(doc.value));
  run.expect(docText.ok, `${type} document: accepted but not writable`, text, docText.ok ? '' : docText.error.message);
  if (!docText.ok) return;
  run.roundTripped(`${type} document`);
  const docAgain = run.call(`parseGuestDocument(${type})`, docText.value, () => parseGuestDocument(type, docText.value, 'fuzz'));
  const view = (d: ReturnType<typeof parseGuestDocument>) => ({ ...d, special: [...d.special].map(([n, s]) => [n, sectionView(s)]) });
  run.expect(docAgain.ok && isDeepStrictEqual(view(docAgain.value), view(doc.value)), `${type} document: does not read back the same`, text, `written ${show(docText.value)}`);
}

/** The description a section reads back as after writing (Proxmox drops trailing white space). */
function expectedDescription(description: string | undefined, pendingQemu: boolean): string | undefined {
  if (description === undefined) return undefined;
  const trimmed = description.trimEnd();
  if (trimmed === '') return pendingQemu ? '' : undefined;
  return trimmed;
}

function fuzzGuestModel(run: FuzzRun, r: SeededRandom): void {
  const type = r.chance(0.5) ? 'qemu' : 'lxc';
  const model = guestConfigModel(r, type);
  const written = run.call(`serializeGuestConfig(${type} model)`, model, () => serializeGuestConfig(model));
  if (!written.ok) return;
  const parsed = run.call(`parseGuestConfig(${type})`, written.value, () => parseGuestConfig(written.value, { type }));
  run.expect(parsed.ok, `${type} model: written but not readable`, model, parsed.ok ? '' : `${parsed.error.message}; written ${show(written.value)}`);
  run.roundTripped(`${type} model`);
  if (!parsed.ok) return;
  const sameSection = (a: GuestConfigSection, b: GuestConfigSection | undefined, pendingQemu: boolean) =>
    b !== undefined && isDeepStrictEqual(sectionView({ ...a, description: expectedDescription(a.description, pendingQemu) }), sectionView(b));
  const p = parsed.value;
  let same = sameSection(model, p, false) && isDeepStrictEqual([...model.snapshots.keys()], [...p.snapshots.keys()]);
  for (const [name, s] of model.snapshots) same &&= sameSection(s, p.snapshots.get(name), false);
  const pendingKept = model.pending && (model.pending.entries.length > 0 || expectedDescription(model.pending.description, type === 'qemu') !== undefined);
  if (pendingKept) same &&= sameSection(model.pending!, p.pending, type === 'qemu');
  else same &&= p.pending === undefined;
  run.expect(same, `${type} model: does not read back the same`, model, `written ${show(written.value)}`);
}

function fuzzStorageText(run: FuzzRun, r: SeededRandom): void {
  const text = storageConfigText(r);
  // The lenient reader: never fails on a string within the size limit, and what it returns
  // (sections and unreadable parts) reads back the same once written.
  const read = run.call('readSectionConfig', text, () => readSectionConfig(text));
  run.expect(read.ok, 'storage.cfg: the lenient reader refused the file', text, read.ok ? '' : read.error.message);
  if (read.ok) {
    const kept = run.call('serializeSectionConfig(+invalid)', text, () => serializeSectionConfig(read.value.sections, { invalid: read.value.invalid }));
    run.expect(kept.ok, 'storage.cfg: read but not writable with its invalid parts', text, kept.ok ? '' : kept.error.message);
    if (kept.ok) {
      run.roundTripped('storage.cfg (lenient reader)');
      const again = run.call('readSectionConfig', kept.value, () => readSectionConfig(kept.value));
      const parts = (c: SectionConfigContent) => c.invalid.map((p) => [p.type, p.id, p.text]);
      run.expect(
        again.ok && isDeepStrictEqual(again.value.sections, read.value.sections) && isDeepStrictEqual(parts(again.value), parts(read.value)),
        'storage.cfg: sections or invalid parts do not read back the same',
        text,
        `written ${show(kept.value)}`,
      );
    }
  }
  const parsed = run.call('parseSectionConfig', text, () => parseSectionConfig(text));
  if (!parsed.ok) return;
  const written = run.call('serializeSectionConfig', text, () => serializeSectionConfig(parsed.value));
  run.expect(written.ok, 'storage.cfg: accepted but not writable', text, written.ok ? '' : written.error.message);
  if (!written.ok) return;
  run.roundTripped('storage.cfg');
  const again = run.call('parseSectionConfig', written.value, () => parseSectionConfig(written.value));
  run.expect(again.ok && isDeepStrictEqual(again.value, parsed.value), 'storage.cfg: does not read back the same', text, `written ${show(written.value)}`);
  if (again.ok) {
    const twice = run.call('serializeSectionConfig', written.value, () => serializeSectionConfig(again.value));
    run.expect(twice.ok && twice.value === written.value, 'storage.cfg: writing is not stable', text, '');
  }
}

function fuzzStorageModel(run: FuzzRun, r: SeededRandom): void {
  const sections = storageModel(r);
  const written = run.call('serializeSectionConfig(model)', sections, () => serializeSectionConfig(sections));
  if (!written.ok) return;
  run.roundTripped('storage model');
  const parsed = run.call('parseSectionConfig', written.value, () => parseSectionConfig(written.value));
  run.expect(parsed.ok && isDeepStrictEqual(parsed.value, sections), 'storage model: does not read back the same', sections, parsed.ok ? `written ${show(written.value)}` : parsed.error.message);
}

const EMPTY_QEMU = (value: string): GuestConfig => ({ type: 'qemu', entries: [{ key: 'unused0', value }], special: new Map(), snapshots: new Map() });

function fuzzVolumeId(run: FuzzRun, r: SeededRandom): void {
  const text = volumeIdText(r);
  const parsed = run.call('parseVolumeId', text, () => parseVolumeId(text));
  if (!parsed.ok) return;
  run.roundTripped('volume id');
  run.expect(formatVolumeId(parsed.value.storage, parsed.value.volname) === text, 'volume id: does not format back the same', text, '');
  const written = run.call('serializeGuestConfig(volume id)', text, () => serializeGuestConfig(EMPTY_QEMU(text)));
  run.expect(written.ok, 'volume id: accepted but cannot be written into a config', text, written.ok ? '' : written.error.message);
}

/** What is fuzzed, with its share of the cases. */
export const TARGETS: ReadonlyArray<readonly [string, number, (run: FuzzRun, r: SeededRandom) => void]> = [
  ['property strings', 0.25, fuzzPropertyString],
  ['guest .conf text', 0.3, fuzzGuestText],
  ['guest config models', 0.1, fuzzGuestModel],
  ['storage.cfg text', 0.15, fuzzStorageText],
  ['storage.cfg models', 0.05, fuzzStorageModel],
  ['volume ids', 0.15, fuzzVolumeId],
];

/** Options of {@link runParserFuzz}. */
export interface ParserFuzzOptions {
  readonly seed: number;
  readonly cases: number;
  /** Time bound of one call, ms (the benchmark's; tests pass none). */
  readonly maxMs?: number;
}

/**
 * Runs the fixed guest config corpus, then `cases` seeded cases; returns the run (failures,
 * counts) and the cases per target.
 */
export function runParserFuzz(options: ParserFuzzOptions): { run: FuzzRun; perTarget: Map<string, number>; seconds: number } {
  const run = new FuzzRun(options.maxMs);
  const r = new SeededRandom(options.seed);
  const perTarget = new Map<string, number>();
  const started = performance.now();
  for (const { type, text } of GUEST_CONFIG_CORPUS) checkGuestText(run, type, text);
  for (let i = 0; i < options.cases; i++) {
    let x = r.next();
    const target = TARGETS.find(([, share]) => (x -= share) < 0) ?? TARGETS[TARGETS.length - 1]!;
    perTarget.set(target[0], (perTarget.get(target[0]) ?? 0) + 1);
    target[2](run, r);
    run.cases++;
  }
  return { run, perTarget, seconds: (performance.now() - started) / 1000 };
}
