/**
 * SHA-512 `crypt(3)` password hashes (`$6$salt$...`), as glibc, busybox and `openssl passwd -6`
 * write them into `/etc/shadow` (Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512").
 *
 * @packageDocumentation
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '@corral/core';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DEFAULT_ROUNDS = 5000;

function sha512(...parts: Buffer[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `bytes` repeated to exactly `length` bytes. */
function repeatTo(bytes: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += bytes.length) bytes.copy(out, i, 0, Math.min(bytes.length, length - i));
  return out;
}

function encode(c: Buffer): string {
  let out = '';
  const put = (b2: number, b1: number, b0: number, n: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < n; i++) {
      out += ITOA64[w & 0x3f];
      w >>>= 6;
    }
  };
  for (let i = 0; i < 21; i++) {
    const [a, b, d] = [i, i + 21, i + 42];
    if (i % 3 === 0) put(c[a]!, c[b]!, c[d]!, 4);
    else if (i % 3 === 1) put(c[b]!, c[d]!, c[a]!, 4);
    else put(c[d]!, c[a]!, c[b]!, 4);
  }
  put(0, 0, c[63]!, 2);
  return out;
}

/** A random 16-character salt from the crypt alphabet. */
export function randomCryptSalt(): string {
  return [...randomBytes(16)].map((b) => ITOA64[b & 0x3f]).join('');
}

/**
 * Hashes `password` with SHA-512 crypt.
 *
 * @param options.salt - Up to 16 characters of `[./0-9A-Za-z]` (longer salts are cut, as crypt does); random by default.
 * @param options.rounds - 1000..999999999; default 5000 (then no `rounds=` appears in the hash).
 * @returns `$6$<salt>$<86 characters>` (with `rounds=N$` after `$6$` for non-default rounds).
 * @throws InvalidArgumentError for a salt with other characters or rounds out of range.
 */
export function sha512Crypt(password: string, options: { salt?: string; rounds?: number } = {}): string {
  const saltText = (options.salt ?? randomCryptSalt()).slice(0, 16);
  if (!/^[./0-9A-Za-z]*$/.test(saltText)) throw new InvalidArgumentError('salt', 'a crypt salt may only hold the characters ./0-9A-Za-z');
  const rounds = options.rounds ?? DEFAULT_ROUNDS;
  if (!Number.isInteger(rounds) || rounds < 1000 || rounds > 999_999_999) {
    throw new InvalidArgumentError('rounds', `rounds must be an integer from 1000 to 999999999, got ${rounds}`);
  }
  const p = Buffer.from(password, 'utf8');
  const s = Buffer.from(saltText, 'ascii');

  const b = sha512(p, s, p);
  const a = createHash('sha512').update(p).update(s);
  let i = p.length;
  for (; i > 64; i -= 64) a.update(b);
  a.update(b.subarray(0, i));
  for (i = p.length; i > 0; i >>= 1) a.update(i & 1 ? b : p);
  let c = a.digest();

  const dp = sha512(...Array.from({ length: p.length }, () => p));
  const pSeq = repeatTo(dp, p.length);
  const ds = sha512(...Array.from({ length: 16 + c[0]! }, () => s));
  const sSeq = repeatTo(ds, s.length);

  for (let r = 0; r < rounds; r++) {
    const h = createHash('sha512');
    h.update(r & 1 ? pSeq : c);
    if (r % 3) h.update(sSeq);
    if (r % 7) h.update(pSeq);
    h.update(r & 1 ? c : pSeq);
    c = h.digest();
  }
  const prefix = options.rounds === undefined ? '$6$' : `$6$rounds=${rounds}$`;
  return `${prefix}${saltText}$${encode(c)}`;
}
