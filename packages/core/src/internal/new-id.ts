/** The kinds of ids Haldir mints; the prefix makes each readable in logs. */
export type IdPrefix = 'ses' | 'hold' | 'aud' | 'apr' | 'rul' | 'evt'

// Random bytes per kind, in upstream Haldir's formats: `ses_` + 32 url-safe characters (192
// bits), `aud_` + 22 (128 bits); holds, approvals and events like entries.
const randomBytes: Readonly<Record<IdPrefix, number>> = { ses: 24, hold: 16, aud: 16, apr: 16, rul: 12, evt: 16 }

// `getRandomValues` costs a system call per call (about 10 µs on Node, more than a whole
// governed call should): random bytes are drawn 64 KiB at a time (the most one draw may take; a
// draw every ~1,300 governed calls rather than every ~170) and handed out in order, each byte
// once. The pool is as unpredictable as each draw.
const POOL_BYTES = 65536
let pool = new Uint8Array(0)
let offset = 0

function take(count: number): Uint8Array {
  if (offset + count > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES))
    offset = 0
  }
  const bytes = pool.subarray(offset, offset + count)
  offset += count
  return bytes
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Unpadded base64url of `bytes` (a multiple of 3 bytes encodes exactly; the rest is cut as base64 would). */
function base64url(bytes: Uint8Array): string {
  let out = ''
  let index = 0
  for (; index + 2 < bytes.length; index += 3) {
    const chunk = ((bytes[index] as number) << 16) | ((bytes[index + 1] as number) << 8) | (bytes[index + 2] as number)
    out += ALPHABET.charAt(chunk >> 18) + ALPHABET.charAt((chunk >> 12) & 63) + ALPHABET.charAt((chunk >> 6) & 63) + ALPHABET.charAt(chunk & 63)
  }
  const rest = bytes.length - index
  if (rest === 1) {
    const chunk = (bytes[index] as number) << 16
    out += ALPHABET.charAt(chunk >> 18) + ALPHABET.charAt((chunk >> 12) & 63)
  } else if (rest === 2) {
    const chunk = ((bytes[index] as number) << 16) | ((bytes[index + 1] as number) << 8)
    out += ALPHABET.charAt(chunk >> 18) + ALPHABET.charAt((chunk >> 12) & 63) + ALPHABET.charAt((chunk >> 6) & 63)
  }
  return out
}

/**
 * Prefixed random ids (`ses_…`, `hold_…`, `aud_…`): readable in logs, unguessable across
 * tenants, in the shapes upstream Haldir's clients know (`A–Z a–z 0–9 - _` after the prefix).
 * Web Crypto, so the same code runs on Node, Bun, Deno and edge runtimes.
 */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${base64url(take(randomBytes[prefix]))}`
}
