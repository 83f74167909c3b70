/**
 * The guest the KVM probe boots: a 64 KiB flat firmware image (QEMU `-bios`), generated here
 * byte by byte, each instruction with its assembly beside it, so that nobody has to trust a
 * binary blob.
 *
 * What it does, as a real guest's early boot does (and what a broken KVM fails at):
 * 1. starts at the reset vector in 16-bit real mode, prints `R` on the debug console (port 0xe9);
 * 2. builds identity-mapped 4-level page tables in RAM (2 MiB pages for 0-2 MiB, where its
 *    buffer is, and 0xffe00000-0xffffffff, where the image is), enables PAE, EFER.LME, and
 *    paging with protection at once, prints `P`, and far-jumps into a 64-bit code segment;
 * 3. in 64-bit long mode prints `L` and runs a workload: {@link KVM_PROBE_ITERATIONS} rounds
 *    of storing a counter through the page tables into a 64 KiB buffer and adding it back into
 *    a 64-bit sum. A working KVM runs it in a few milliseconds and TCG in about 0.1 s; the
 *    nested "kvm-pvm" KVM of HOST-FACTS needs over 10 s (it executes about 2 million
 *    instructions a second), which is exactly why its guests seem to hang;
 * 4. compares the sum with n(n+1)/2 (a 64-bit constant: only right in 64-bit mode), prints `W`
 *    and writes {@link KVM_PROBE_OK_VALUE} to the `isa-debug-exit` port 0xf4, so QEMU exits
 *    with status `(value << 1) | 1` = {@link KVM_PROBE_OK_EXIT_STATUS}. A wrong sum prints `X`
 *    and exits with {@link KVM_PROBE_WRONG_EXIT_STATUS}.
 *
 * QEMU maps the image at 0xffff0000 (and again at 0xf0000, below 1 MiB); the CPU starts at
 * 0xfffffff0 with CS base 0xffff0000, so offsets in the image are the 16-bit code's addresses.
 * The GDT's descriptors have their accessed bits preset, so that loading them never writes
 * to ROM (an edge case this probe does not mean to test).
 *
 * @packageDocumentation
 */

/** Size of the image, bytes (QEMU wants a multiple of 64 KiB for `-bios`). */
export const KVM_PROBE_IMAGE_BYTES = 0x10000;
/** Rounds of the 64-bit workload (6 instructions each). */
export const KVM_PROBE_ITERATIONS = 4_000_000;
/** Value the payload writes to `isa-debug-exit` on success. */
export const KVM_PROBE_OK_VALUE = 0x21;
/** QEMU's exit status after a successful probe run: `(0x21 << 1) | 1`. */
export const KVM_PROBE_OK_EXIT_STATUS = (KVM_PROBE_OK_VALUE << 1) | 1;
/** Value written when the 64-bit sum is wrong. */
const WRONG_VALUE = 0x15;
/** QEMU's exit status when the payload computed a wrong sum: `(0x15 << 1) | 1`. */
export const KVM_PROBE_WRONG_EXIT_STATUS = (WRONG_VALUE << 1) | 1;
/** I/O port of the `isa-debug-exit` device the probe's QEMU gets. */
export const KVM_PROBE_EXIT_PORT = 0xf4;
/** I/O port of QEMU's debug console (`-debugcon`), where the stage letters go. */
export const KVM_PROBE_DEBUGCON_PORT = 0xe9;

/** The stage letters the payload prints, in order, and what reaching each one means. */
export const KVM_PROBE_STAGES: Readonly<Record<string, string>> = {
  R: 'ran its first real-mode instructions',
  P: 'built its page tables and is switching to long mode',
  L: 'reached 64-bit long mode',
  W: 'finished its 64-bit workload',
  X: 'computed a wrong 64-bit sum',
};

/** Where the image sits in the guest's physical address space. */
const IMAGE_BASE = 0x1_0000_0000 - KVM_PROBE_IMAGE_BYTES;
/** Offsets in the image. */
const GDT_OFFSET = 0x100;
const GDTR_OFFSET = 0x180;
const LONG_MODE_OFFSET = 0x200;
const RESET_VECTOR_OFFSET = 0xfff0;
/** Page tables in guest RAM: PML4, PDPT, PD for 0-1 GiB, PD for 3-4 GiB. */
const PML4 = 0x1000;
const PDPT = 0x2000;
const PD_LOW = 0x3000;
const PD_HIGH = 0x4000;
/** The workload's 64 KiB buffer (in the first 2 MiB page). */
const BUFFER = 0x10_0000;

/** Writes little-endian instruction bytes at a position of the image, with jump fix-ups. */
class ImageWriter {
  readonly image = Buffer.alloc(KVM_PROBE_IMAGE_BYTES, 0xf4); // hlt everywhere else
  #at = 0;
  readonly #labels = new Map<string, number>();
  readonly #rel8 = new Array<{ at: number; label: string }>();

  /** Continues writing at `offset`. */
  org(offset: number): this {
    this.#at = offset;
    return this;
  }

  /** Marks the current position as `name`. */
  label(name: string): this {
    this.#labels.set(name, this.#at);
    return this;
  }

  /** One instruction (or data item): its bytes; `_asm` documents them. */
  op(bytes: readonly number[], _asm: string): this {
    for (const b of bytes) this.image[this.#at++] = b;
    return this;
  }

  /** A short jump (`opcode rel8`) to `label`, resolved by {@link finish}. */
  jump8(opcode: number, label: string, _asm: string): this {
    this.image[this.#at++] = opcode;
    this.#rel8.push({ at: this.#at, label });
    this.image[this.#at++] = 0;
    return this;
  }

  finish(): Buffer {
    for (const { at, label } of this.#rel8) {
      const target = this.#labels.get(label);
      if (target === undefined) throw new Error(`kvmProbePayload: no label ${label}`);
      const rel = target - (at + 1);
      if (rel < -128 || rel > 127) throw new Error(`kvmProbePayload: jump to ${label} out of rel8 range`);
      this.image[at] = rel & 0xff;
    }
    return this.image;
  }
}

const u16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const u64 = (v: bigint): number[] => [...u32(Number(v & 0xffff_ffffn)), ...u32(Number(v >> 32n))];
const ascii = (c: string): number => c.charCodeAt(0);

/**
 * Builds the probe image (see the module documentation for what it does).
 *
 * @param iterations rounds of the workload (default {@link KVM_PROBE_ITERATIONS}; tests use
 *   fewer). Between 1 and 2^31-1.
 * @returns the 64 KiB image, to be passed to QEMU as `-bios <file>` with
 *   `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
 */
export function kvmProbePayload(iterations: number = KVM_PROBE_ITERATIONS): Buffer {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 0x7fff_ffff) {
    throw new RangeError(`kvmProbePayload: iterations must be an integer from 1 to 2^31-1, got ${iterations}`);
  }
  const expectedSum = (BigInt(iterations) * BigInt(iterations + 1)) / 2n;
  const w = new ImageWriter();
  const longMode = IMAGE_BASE + LONG_MODE_OFFSET;

  // ---- 16-bit real mode, entered from the reset vector
  w.org(0).label('start')
    .op([0xfa], 'cli')
    .op([0xfc], 'cld')
    .op([0xb0, ascii('R')], "mov al, 'R'")
    .op([0xe6, KVM_PROBE_DEBUGCON_PORT], 'out 0xe9, al')
    .op([0x31, 0xc0], 'xor ax, ax')
    .op([0x8e, 0xd8], 'mov ds, ax')
    .op([0x8e, 0xc0], 'mov es, ax')
    // zero the four page-table pages (0x1000-0x4fff: 4096 dwords)
    .op([0xbf, ...u16(PML4)], 'mov di, 0x1000')
    .op([0xb9, ...u16(0x1000)], 'mov cx, 0x1000')
    .op([0x66, 0x31, 0xc0], 'xor eax, eax')
    .op([0x66, 0xf3, 0xab], 'rep stosd')
    // mov dword [disp16], imm32: 66 c7 06 disp16 imm32
    .op([0x66, 0xc7, 0x06, ...u16(PML4), ...u32(PDPT | 0x3)], 'mov dword [PML4+0], PDPT|present|writable')
    .op([0x66, 0xc7, 0x06, ...u16(PDPT), ...u32(PD_LOW | 0x3)], 'mov dword [PDPT+0], PD_LOW|P|W (0-1 GiB)')
    .op([0x66, 0xc7, 0x06, ...u16(PDPT + 3 * 8), ...u32(PD_HIGH | 0x3)], 'mov dword [PDPT+24], PD_HIGH|P|W (3-4 GiB)')
    .op([0x66, 0xc7, 0x06, ...u16(PD_LOW), ...u32(0x0000_0000 | 0x83)], 'mov dword [PD_LOW+0], 0|P|W|2MiB page')
    .op([0x66, 0xc7, 0x06, ...u16(PD_HIGH + 511 * 8), ...u32(0xffe0_0000 | 0x83)], 'mov dword [PD_HIGH+4088], 0xffe00000|P|W|2MiB page')
    .op([0x66, 0xb8, ...u32(0x20)], 'mov eax, CR4.PAE')
    .op([0x0f, 0x22, 0xe0], 'mov cr4, eax')
    .op([0x66, 0xb8, ...u32(PML4)], 'mov eax, PML4')
    .op([0x0f, 0x22, 0xd8], 'mov cr3, eax')
    .op([0x66, 0xb9, ...u32(0xc000_0080)], 'mov ecx, MSR_EFER')
    .op([0x0f, 0x32], 'rdmsr')
    .op([0x66, 0x0d, ...u32(0x100)], 'or eax, EFER.LME')
    .op([0x0f, 0x30], 'wrmsr')
    .op([0x2e, 0x66, 0x0f, 0x01, 0x16, ...u16(GDTR_OFFSET)], 'lgdt cs:[GDTR] (32-bit base)')
    .op([0xb0, ascii('P')], "mov al, 'P'")
    .op([0xe6, KVM_PROBE_DEBUGCON_PORT], 'out 0xe9, al')
    .op([0x0f, 0x20, 0xc0], 'mov eax, cr0')
    .op([0x66, 0x0d, ...u32(0x8000_0001)], 'or eax, CR0.PG|CR0.PE')
    .op([0x0f, 0x22, 0xc0], 'mov cr0, eax (long mode is active now)')
    .op([0x66, 0xea, ...u32(longMode), ...u16(0x08)], 'jmp dword 0x08:longMode (the 64-bit code segment)');

  // ---- GDT: null, 64-bit code (0x08), data (0x10); accessed bits preset
  w.org(GDT_OFFSET)
    .op(u64(0n), 'null descriptor')
    .op(u64(0x00af_9b00_0000_ffffn), 'code: base 0, limit 4 GiB, L=1, present, ring 0, execute/read, accessed')
    .op(u64(0x00cf_9300_0000_ffffn), 'data: base 0, limit 4 GiB, present, ring 0, read/write, accessed');
  w.org(GDTR_OFFSET).op([...u16(3 * 8 - 1), ...u32(IMAGE_BASE + GDT_OFFSET)], 'GDTR: limit 23, base of the GDT');

  // ---- 64-bit long mode
  w.org(LONG_MODE_OFFSET)
    .op([0xb0, ascii('L')], "mov al, 'L'")
    .op([0xe6, KVM_PROBE_DEBUGCON_PORT], 'out 0xe9, al')
    .op([0xb9, ...u32(iterations)], 'mov ecx, iterations (zero-extends into rcx)')
    .op([0x31, 0xc0], 'xor eax, eax (rax: the sum)')
    .op([0xbf, ...u32(BUFFER)], 'mov edi, BUFFER')
    .label('loop')
    .op([0x48, 0x89, 0xcb], 'mov rbx, rcx')
    .op([0x81, 0xe3, ...u32(0x1fff)], 'and ebx, 0x1fff (one of 8192 slots of 8 bytes: 64 KiB)')
    .op([0x48, 0x89, 0x0c, 0xdf], 'mov [rdi+rbx*8], rcx')
    .op([0x48, 0x03, 0x04, 0xdf], 'add rax, [rdi+rbx*8]')
    .op([0x48, 0xff, 0xc9], 'dec rcx')
    .jump8(0x75, 'loop', 'jnz loop')
    .op([0x48, 0xba, ...u64(expectedSum)], 'mov rdx, n(n+1)/2')
    .op([0x48, 0x39, 0xd0], 'cmp rax, rdx')
    .jump8(0x75, 'wrong', 'jne wrong')
    .op([0xb0, ascii('W')], "mov al, 'W'")
    .op([0xe6, KVM_PROBE_DEBUGCON_PORT], 'out 0xe9, al')
    .op([0xb0, KVM_PROBE_OK_VALUE], 'mov al, OK')
    .op([0xe6, KVM_PROBE_EXIT_PORT], 'out 0xf4, al (QEMU exits)')
    .label('halt')
    .op([0xf4], 'hlt')
    .jump8(0xeb, 'halt', 'jmp halt')
    .label('wrong')
    .op([0xb0, ascii('X')], "mov al, 'X'")
    .op([0xe6, KVM_PROBE_DEBUGCON_PORT], 'out 0xe9, al')
    .op([0xb0, WRONG_VALUE], 'mov al, WRONG')
    .op([0xe6, KVM_PROBE_EXIT_PORT], 'out 0xf4, al (QEMU exits)')
    .jump8(0xeb, 'halt', 'jmp halt');

  // ---- reset vector (0xfffffff0): jmp near start (rel16 from the next instruction at 0xfff3)
  w.org(RESET_VECTOR_OFFSET).op([0xe9, ...u16((0 - (RESET_VECTOR_OFFSET + 3)) & 0xffff)], 'jmp start');
  return w.finish();
}
