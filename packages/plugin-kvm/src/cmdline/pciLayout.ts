/**
 * Where each device sits on the guest's PCI buses, as qemu-server places them: a fixed slot
 * per device id, so that a guest sees the same slots (and names its interfaces and disks the
 * same) in Corral as in Proxmox VE, whatever else the VM has.
 *
 * Bus 0 is `pci.0` (the root bus on i440fx; on q35 the first `pci-bridge` behind the DMI
 * bridge, `pcie.0` being the PCIe root). Buses 1 to 4 are `pci-bridge`s that the VM gets when
 * a device needs them (on i440fx machines 2.3 and later, `pci.1` and `pci.2` always).
 *
 * @packageDocumentation
 */
import type { QemuDevice } from './QemuDevices.js';
import { machineAtLeast, type MachineVersion } from './machineVersion.js';

/** A slot on a bus: `bus` index (0 to 4) and `slot` (1 to 31). */
interface PciSlot {
  readonly bus: number;
  readonly slot: number;
}

function slots(prefix: string, from: number, count: number, bus: number, firstSlot: number): Array<[string, PciSlot]> {
  return Array.from({ length: count }, (_, i) => [`${prefix}${from + i}`, { bus, slot: firstSlot + i }]);
}

/** qemu-server's slot table (its `PCI.pm` address map), by device id. */
const PCI_SLOTS: ReadonlyMap<string, PciSlot> = new Map<string, PciSlot>([
  ['uhci', { bus: 0, slot: 1 }], // function 2 of slot 1 (the PIIX3 south bridge's USB controller)
  ['vga', { bus: 0, slot: 2 }],
  ['balloon0', { bus: 0, slot: 3 }],
  ['watchdog', { bus: 0, slot: 4 }],
  ['scsihw0', { bus: 0, slot: 5 }],
  ['pci.3', { bus: 0, slot: 5 }], // the virtio-scsi-single bridge takes scsihw0's slot
  ['scsihw1', { bus: 0, slot: 6 }],
  ['ahci0', { bus: 0, slot: 7 }],
  ['qga0', { bus: 0, slot: 8 }],
  ['spice', { bus: 0, slot: 9 }],
  ...slots('virtio', 0, 6, 0, 10),
  ...slots('hostpci', 0, 2, 0, 16),
  ...slots('net', 0, 6, 0, 18),
  ...slots('vga', 1, 3, 0, 24),
  ...slots('hostpci', 2, 2, 0, 27),
  ['pci.1', { bus: 0, slot: 30 }],
  ['pci.2', { bus: 0, slot: 31 }],
  ...slots('net', 6, 26, 1, 1),
  ['xhci', { bus: 1, slot: 27 }],
  ['pci.4', { bus: 1, slot: 28 }],
  ['rng0', { bus: 1, slot: 29 }],
  ...slots('virtio', 6, 10, 2, 1),
  ['ivshmem', { bus: 2, slot: 11 }],
  ['audio0', { bus: 2, slot: 12 }],
  ...slots('hostpci', 4, 12, 2, 13),
  ...slots('virtioscsi', 0, 31, 3, 1),
  ...slots('scsihw', 2, 3, 4, 1),
]);

/** q35 places these on the PCIe root bus instead (`pcie.0`). */
const PCIE_ROOT_SLOTS: ReadonlyMap<string, number> = new Map([['vga', 1]]);

/** `bus` and `addr` properties of device `id`, or an empty object for a device without a fixed slot. */
export function pciAddress(id: string, machine: 'pc' | 'q35'): { bus?: string; addr?: string } {
  const root = machine === 'q35' ? PCIE_ROOT_SLOTS.get(id) : undefined;
  if (root !== undefined) return { bus: 'pcie.0', addr: `0x${root.toString(16)}` };
  const s = PCI_SLOTS.get(id);
  if (!s) return {};
  return { bus: `pci.${s.bus}`, addr: id === 'uhci' ? '0x1.0x2' : `0x${s.slot.toString(16)}` };
}

/** The bus index device `id` sits on (0 without a fixed slot). */
export function pciBusOf(id: string): number {
  return PCI_SLOTS.get(id)?.bus ?? 0;
}

/**
 * The `pci-bridge` devices a VM needs for `busesInUse` (bus indexes its devices sit on), in
 * command line order. i440fx machines 2.3 and later always get `pci.1` and `pci.2`, and
 * `pci.3` with virtio-scsi-single; q35 has `pci.0` to `pci.3` in its fixed layout
 * ({@link q35BaseDevices}) and gets only `pci.4`. `pci.4` sits on `pci.1`, which it brings.
 */
export function pciBridges(busesInUse: ReadonlySet<number>, options: { machine: 'pc' | 'q35'; machineVersion: MachineVersion; virtioScsiSingle: boolean }): QemuDevice[] {
  const buses = new Set([...busesInUse].filter((b) => b > 0));
  if (buses.has(4)) buses.add(1);
  if (options.machine === 'pc') {
    if (machineAtLeast(options.machineVersion, 2, 3)) {
      buses.add(1);
      buses.add(2);
    }
    if (options.virtioScsiSingle) buses.add(3);
  }
  return [...buses]
    .filter((b) => options.machine === 'pc' || b >= 4)
    .sort((a, b) => a - b)
    .map((b) => ({ driver: 'pci-bridge', id: `pci.${b}`, chassis_nr: String(b), ...pciAddress(`pci.${b}`, 'pc') }) as QemuDevice);
}

/**
 * The fixed devices of a q35 VM, as qemu-server's `pve-q35-4.0.cfg` (machine 4.0 and later)
 * and `pve-q35.cfg` (older) give them: two EHCI controllers with six UHCI companions, the
 * `ich9-intel-hda` audio controller, four PCIe root ports, the DMI-to-PCI bridge and the
 * `pci.0`..`pci.3` bridges behind it.
 */
export function q35BaseDevices(machineVersion: MachineVersion): QemuDevice[] {
  const rootPort: Record<string, string> & { driver: string } = machineAtLeast(machineVersion, 4, 0) ? { driver: 'pcie-root-port', 'x-speed': '16', 'x-width': '32' } : { driver: 'ioh3420' };
  const out: QemuDevice[] = [];
  const usb = (ehci: string, ehciDriver: string, slot: string, uhciFrom: number): void => {
    out.push({ driver: ehciDriver, id: ehci, multifunction: 'on', bus: 'pcie.0', addr: `${slot}.7` });
    for (let i = 0; i < 3; i++) {
      out.push({ driver: `ich9-usb-uhci${uhciFrom + i}`, id: `uhci-${uhciFrom + i}`, multifunction: 'on', bus: 'pcie.0', addr: `${slot}.${i}`, masterbus: `${ehci}.0`, firstport: String(2 * i) });
    }
  };
  usb('ehci', 'ich9-usb-ehci1', '1d', 1);
  usb('ehci-2', 'ich9-usb-ehci2', '1a', 4);
  out.push({ driver: 'ich9-intel-hda', id: 'audio0', bus: 'pcie.0', addr: '1b.0' });
  for (let p = 1; p <= 4; p++) {
    out.push({ ...rootPort, id: `ich9-pcie-port-${p}`, multifunction: 'on', bus: 'pcie.0', addr: `1c.${p - 1}`, port: String(p), chassis: String(p) });
  }
  out.push({ driver: 'i82801b11-bridge', id: 'pcidmi', bus: 'pcie.0', addr: '1e.0' });
  for (let b = 0; b <= 3; b++) out.push({ driver: 'pci-bridge', id: `pci.${b}`, bus: 'pcidmi', addr: `${b + 1}.0`, chassis_nr: String(b + 1) });
  return out;
}
