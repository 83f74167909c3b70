/**
 * The escaping Proxmox VE uses for free text stored on one config line, such as the `#`
 * description lines of guest configs (`PVE::Tools::encode_text` / `decode_text`).
 *
 * @packageDocumentation
 */

function isSafeByte(byte: number): boolean {
  // Proxmox's unsafe set is "^\x20-\x39\x3b-\x7e": control bytes, ':', DEL and every byte of a
  // multi-byte UTF-8 character are escaped; '%' itself is not.
  return (byte >= 0x20 && byte <= 0x39) || (byte >= 0x3b && byte <= 0x7e);
}

/**
 * Escapes one line of text as Proxmox writes it: the text is UTF-8 encoded and every byte
 * outside printable ASCII, and `:`, becomes `%XX` (upper-case hex). `%` is left as is, so
 * decoding is not always the exact inverse (a literal `%41` reads back as `A`), exactly as in
 * Proxmox.
 */
export function encodeProxmoxText(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += isSafeByte(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return -1;
}

/**
 * Decodes one escaped line as Proxmox reads it: every `%XX` (either case) becomes that byte,
 * other characters are kept, and the bytes are read as UTF-8 (invalid sequences become U+FFFD).
 * Never throws.
 */
export function decodeProxmoxText(text: string): string {
  const input = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    if (byte === 0x25 && i + 2 < input.length) {
      const hi = hexValue(input[i + 1]!);
      const lo = hexValue(input[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[n++] = byte;
  }
  return out.subarray(0, n).toString('utf8');
}
