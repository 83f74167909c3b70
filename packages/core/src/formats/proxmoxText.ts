/**
 * The escaping Proxmox VE uses for free text stored on one config line, such as the `#`
 * description lines of guest configs (`PVE::Tools::encode_text` / `decode_text`).
 *
 * @packageDocumentation
 */

function isSafeByte(byte: number): boolean {
  // Proxmox's unsafe set is "^\x20-\x24\x26-\x39\x3b-\x7e": control bytes, '%', ':', DEL and
  // every byte of a multi-byte UTF-8 character are escaped.
  return (byte >= 0x20 && byte <= 0x24) || (byte >= 0x26 && byte <= 0x39) || (byte >= 0x3b && byte <= 0x7e);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return -1;
}

/**
 * Escapes one line of text as Proxmox writes it (`PVE::ParseUtils::encode_text`, which escapes
 * `%` since pve-common 8.2, "fix #5486"): the text is UTF-8 encoded and every byte outside
 * printable ASCII, `%` and `:` becomes `%XX` (upper-case hex). {@link decodeProxmoxText} is
 * its exact inverse.
 */
export function encodeProxmoxText(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (const byte of bytes) out += isSafeByte(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/**
 * Decodes one escaped line as Proxmox reads it: every `%XX` (either case) becomes that byte,
 * other characters are kept, and the bytes are read as UTF-8 (invalid sequences become U+FFFD).
 * Never throws.
 */
export function decodeProxmoxText(text: string): string {
  // Plain ASCII without '%' decodes to itself (the common case, without two buffers per line).
  if (!text.includes('%') && isAscii(text)) return text;
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
