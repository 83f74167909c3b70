/**
 * QEMU argv sorted into the families a guest can notice (machine, cpu, drives, devices...),
 * each item normalized so that two command lines that give a guest the same virtual hardware
 * compare equal: options in a canonical order, `-readconfig` files expanded into devices,
 * flat `-blockdev` graphs nested, node names that only a management layer sees blanked.
 *
 * What the normalization drops, and why (each is host plumbing, not guest hardware):
 * identity and monitors (`-id`, `-name`, QMP chardevs and `-mon`, `-pidfile`, `-daemonize`,
 * `-D`, `-S`, `-vnc`), the accelerator's spelling (`-accel kvm` vs `accel=`), Proxmox's
 * QEMU build suffix (`+pve0`), tap helper scripts (Corral plugs taps itself), socket paths and
 * log files of chardevs, and the boot splash picture path.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The families compared. */
export const FAMILIES = ['machine', 'cpu', 'smp', 'memory', 'drives', 'netdevs', 'devices', 'globals', 'boot', 'rtc', 'vga', 'usb', 'audio', 'serial'] as const;
export type Family = (typeof FAMILIES)[number];

/** A command line by family: normalized items, sorted. */
export type ArgvFamilies = Record<Family, string[]>;

/** Options without a value. */
const FLAGS = new Set(['-no-shutdown', '-daemonize', '-nodefaults', '-no-user-config', '-S', '-no-reboot', '-no-hpet', '-snapshot', '-nographic']);
/** Options that are host plumbing (see the module comment). */
const IGNORED = new Set(['-id', '-name', '-no-shutdown', '-mon', '-pidfile', '-daemonize', '-nodefaults', '-no-user-config', '-vnc', '-D', '-S', '-accel', '-incoming', '-add-fd', '-qmp']);

const VGA = /^(VGA|cirrus-vga|vmware-svga|qxl-vga|qxl|virtio-vga|virtio-vga-gl|virtio-gpu-pci|virtio-gpu-gl-pci|bochs-display|ramfb)$/;
const USB = /^(piix3-usb-uhci|piix4-usb-uhci|ich9-usb-.*|qemu-xhci|nec-usb-xhci|usb-.*)$/;
const AUDIO = /^(intel-hda|ich9-intel-hda|AC97|hda-.*|ES1370|sb16)$/;
const DRIVE = /^(ide-.*|scsi-.*|virtio-blk-pci|virtio-scsi-pci|lsi.*|megasas.*|pvscsi|ahci|am53c974|dc390)$/;
const NIC = /^(virtio-net-pci|e1000.*|rtl8139|vmxnet3|i8255.*|ne2k_.*|pcnet|vmxnet)$/;

/**
 * Splits a QemuOpts string at commas (`,,` is a literal comma).
 */
export function splitOpts(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') {
        cur += ',';
        i++;
        continue;
      }
      out.push(cur);
      cur = '';
    } else cur += text[i];
  }
  out.push(cur);
  return out;
}

/** `driver,k=v,...`: the positional first, the rest sorted, with `drop` removed and `map` applied. */
function canonOpts(text: string, opts: { drop?: (k: string) => boolean; map?: (k: string, v: string) => string; positional?: boolean } = {}): string {
  const parts = splitOpts(text);
  const head = opts.positional !== false && !parts[0]!.includes('=') ? [parts.shift()!] : [];
  const rest: string[] = [];
  for (const p of parts) {
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    if (opts.drop?.(k)) continue;
    rest.push(eq < 0 ? k : `${k}=${opts.map ? opts.map(k, v) : v}`);
  }
  return [...head, ...rest.sort()].join(',');
}

/** PCI addresses as slot.function in hex without `0x` (`0x1e` → `1e.0`, `1d.7` → `1d.7`). */
function canonAddr(v: string): string {
  const [slot, fn] = v.split('.');
  const n = (s: string | undefined): string => parseInt((s ?? '0').replace(/^0x/, ''), 16).toString(16);
  return `${n(slot)}.${n(fn)}`;
}

function canonDevice(text: string): string {
  return canonOpts(text, { map: (k, v) => (k === 'addr' ? canonAddr(v) : v) });
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** Node names a guest never sees are blanked; `drive-*` and `pflash*` name what devices attach to. */
function blankNodeNames(node: Record<string, unknown>, top: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { ...node };
  const name = out['node-name'];
  if (!top || typeof name !== 'string' || !(name.startsWith('drive-') || name.startsWith('pflash'))) delete out['node-name'];
  for (const k of ['file', 'backing']) {
    const child = out[k];
    if (child && typeof child === 'object') out[k] = blankNodeNames(child as Record<string, unknown>, false);
  }
  return out;
}

/** Nests `-blockdev` graphs given flat (children named by node-name) and renders each top node. */
function canonBlockdevs(jsons: readonly string[]): string[] {
  const nodes = jsons.map((j) => (j.startsWith('{') ? (JSON.parse(j) as Record<string, unknown>) : Object.fromEntries(splitOpts(j).map((p) => p.split('=', 2) as [string, string]))));
  const byName = new Map<string, Record<string, unknown>>();
  for (const n of nodes) if (typeof n['node-name'] === 'string') byName.set(n['node-name'], n);
  const referenced = new Set<string>();
  const nest = (n: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...n };
    for (const k of ['file', 'backing']) {
      const ref = out[k];
      if (typeof ref === 'string' && byName.has(ref)) {
        referenced.add(ref);
        out[k] = nest(byName.get(ref)!);
      } else if (ref && typeof ref === 'object') out[k] = nest(ref as Record<string, unknown>);
    }
    return out;
  };
  const nested = nodes.map((n) => nest(n));
  return nested.filter((n) => !referenced.has(n['node-name'] as string)).map((n) => JSON.stringify(sortKeys(blankNodeNames(n, true))));
}

function canonObject(text: string): { family: Family; item: string } {
  let type: string;
  let item: string;
  if (text.startsWith('{')) {
    const o = JSON.parse(text) as Record<string, unknown>;
    type = String(o['qom-type']);
    item = JSON.stringify(sortKeys(o));
  } else {
    type = splitOpts(text)[0]!;
    item = canonOpts(text);
  }
  const family: Family = /^(throttle-group|iothread)$/.test(type) ? 'drives' : type.startsWith('memory-backend') ? 'memory' : 'devices';
  return { family, item: `-object ${item}` };
}

/** `-readconfig` file sections (`[device "id"]` with `key = "value"` lines) as `-device` texts. */
export function readconfigDevices(text: string): string[] {
  const out: string[] = [];
  let cur: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const head = /^\[(\w+) "([^"]+)"\]$/.exec(line);
    if (head) {
      if (cur) out.push(cur.join(','));
      cur = head[1] === 'device' ? [`id=${head[2]}`] : undefined;
      continue;
    }
    const kv = /^([\w.-]+) = "(.*)"$/.exec(line);
    if (kv && cur) {
      if (kv[1] === 'driver') cur.unshift(kv[2]!.replace(/,/g, ',,'));
      else cur.push(`${kv[1]}=${kv[2]!.replace(/,/g, ',,')}`);
    }
  }
  if (cur) out.push(cur.join(','));
  return out;
}

/**
 * Sorts argv (binary first) into families. `readconfigDir` is where `-readconfig` files are
 * found by base name.
 */
export function argvFamilies(argv: readonly string[], readconfigDir: string): ArgvFamilies {
  const out = Object.fromEntries(FAMILIES.map((f) => [f, [] as string[]])) as ArgvFamilies;
  const blockdevs: string[] = [];
  const add = (f: Family, item: string): void => void out[f].push(item);
  const devices: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const opt = argv[i]!;
    if (FLAGS.has(opt)) {
      if (opt === '-no-reboot') add('boot', opt);
      else if (opt === '-no-hpet') add('machine', opt);
      continue;
    }
    const val = argv[++i] ?? '';
    if (IGNORED.has(opt)) continue;
    switch (opt) {
      case '-readconfig':
        devices.push(...readconfigDevices(readFileSync(join(readconfigDir, val.split('/').pop()!), 'utf8')));
        break;
      case '-device':
        devices.push(val);
        break;
      case '-blockdev':
      case '-drive':
        if (opt === '-blockdev') blockdevs.push(val);
        else add('drives', `-drive ${canonOpts(val, { positional: false })}`);
        break;
      case '-machine':
        add('machine', canonOpts(val, { positional: false, drop: (k) => k === 'accel', map: (k, v) => (k === 'type' ? v.replace(/\+pve\d+$/, '') : v) }));
        break;
      case '-cpu': {
        const [model, ...flags] = splitOpts(val);
        const byName = new Map<string, string>();
        for (const f of flags) byName.set(f.replace(/^[+-]/, '').replace(/=.*$/, ''), f);
        add('cpu', [model, ...[...byName.values()].sort()].join(','));
        break;
      }
      case '-smp':
        add('smp', canonOpts(val));
        break;
      case '-m':
      case '-numa':
        add('memory', `${opt} ${canonOpts(val)}`);
        break;
      case '-object': {
        const o = canonObject(val);
        add(o.family, o.item);
        break;
      }
      case '-netdev':
        add('netdevs', `-netdev ${canonOpts(val, { positional: false, drop: (k) => k === 'script' || k === 'downscript' })}`);
        break;
      case '-global':
        add('globals', val);
        break;
      case '-boot':
        add('boot', `-boot ${canonOpts(val, { positional: false, drop: (k) => k === 'splash' })}`);
        break;
      case '-rtc':
        add('rtc', canonOpts(val, { positional: false }));
        break;
      case '-chardev': {
        const id = splitOpts(val).find((p) => p.startsWith('id='))?.slice(3) ?? '';
        if (id.startsWith('qmp')) break;
        const item = `-chardev ${canonOpts(val, { drop: (k) => k === 'path' || k === 'logfile' || k === 'reconnect' || k === 'reconnect-ms' })}`;
        add(id.startsWith('serial') ? 'serial' : 'devices', item);
        break;
      }
      case '-iscsi':
        add('drives', `-iscsi ${val}`);
        break;
      case '-spice':
        add('vga', `-spice ${canonOpts(val, { positional: false })}`);
        break;
      case '-audiodev':
        add('audio', `-audiodev ${canonOpts(val, { positional: false })}`);
        break;
      case '-bios':
        add('machine', `-bios ${val}`);
        break;
      default:
        add('devices', `${opt} ${val}`);
    }
  }
  for (const d of devices) {
    const driver = splitOpts(d)[0]!;
    const item = canonDevice(d);
    if (VGA.test(driver)) add('vga', item);
    else if (USB.test(driver)) add('usb', item);
    else if (AUDIO.test(driver)) add('audio', item);
    else if (DRIVE.test(driver)) add('drives', item);
    else if (NIC.test(driver)) add('netdevs', item);
    else if (driver === 'isa-serial' && /(^|,)chardev=serial/.test(d)) add('serial', item);
    else add('devices', item);
  }
  for (const b of canonBlockdevs(blockdevs)) add('drives', `-blockdev ${b}`);
  for (const f of FAMILIES) out[f].sort();
  return out;
}

/** Items of `a` not in `b` (multiset difference). */
export function missingItems(a: readonly string[], b: readonly string[]): string[] {
  const left = [...b];
  const out: string[] = [];
  for (const x of a) {
    const i = left.indexOf(x);
    if (i < 0) out.push(x);
    else left.splice(i, 1);
  }
  return out;
}
