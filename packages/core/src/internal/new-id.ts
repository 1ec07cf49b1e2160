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

/** Where the next `count` random bytes of the pool start (each byte is handed out once). */
function take(count: number): number {
  if (offset + count > pool.length) draw()
  const start = offset
  offset += count
  return start
}

function draw(): void {
  pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES))
  offset = 0
}

/**
 * Draws a fresh pool now when less than a quarter of it is left (the rest is never handed out).
 * Work done after callers have their answers calls it (the memory store's seals), so the draw,
 * 30–100 µs, lands there and not in the governed call that happens to need one id too many: in a
 * loop that never yields, that was one call in 2,000 over 10 µs.
 */
export function drawIdsAhead(): void {
  if (pool.length - offset < POOL_BYTES / 4) draw()
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const CODES = Array.from(ALPHABET, (char) => char.charCodeAt(0))
// The character codes of an id of each kind, reused: the prefix and `_` written once, then the
// random part written over on every call, and one `String.fromCharCode` makes the whole id as one
// flat string (adding characters one by one took twice as long, and left a rope that every Map
// lookup and hash of the id flattened again). An array per kind keeps each at its length.
const codesByPrefix = new Map<string, number[]>()

function codesOf(prefix: IdPrefix): number[] {
  let codes = codesByPrefix.get(prefix)
  if (codes === undefined) {
    const bytes = randomBytes[prefix]
    const length = prefix.length + 1 + Math.ceil((bytes * 4) / 3)
    codes = Array.from({ length }, (_, index) => (index < prefix.length ? prefix.charCodeAt(index) : 95)) // 95: '_'
    codesByPrefix.set(prefix, codes)
  }
  return codes
}

/** `prefix_` then the unpadded base64url of its kind's number of pool bytes (a multiple of 3 encodes exactly; the rest is cut as base64 would). */
function encode(prefix: IdPrefix): string {
  const codes = codesOf(prefix)
  const count = randomBytes[prefix]
  let length = prefix.length + 1
  // `take` first: it may draw a new pool, and the bytes must come from the one it hands out.
  let index = take(count)
  const bytes = pool
  const end = index + count
  for (; index + 2 < end; index += 3) {
    const chunk = ((bytes[index] as number) << 16) | ((bytes[index + 1] as number) << 8) | (bytes[index + 2] as number)
    codes[length++] = CODES[chunk >> 18] as number
    codes[length++] = CODES[(chunk >> 12) & 63] as number
    codes[length++] = CODES[(chunk >> 6) & 63] as number
    codes[length++] = CODES[chunk & 63] as number
  }
  const rest = end - index
  if (rest > 0) {
    const chunk = ((bytes[index] as number) << 16) | (rest === 2 ? (bytes[index + 1] as number) << 8 : 0)
    codes[length++] = CODES[chunk >> 18] as number
    codes[length++] = CODES[(chunk >> 12) & 63] as number
    if (rest === 2) codes[length++] = CODES[(chunk >> 6) & 63] as number
  }
  return String.fromCharCode.apply(null, codes)
}

/**
 * Prefixed random ids (`ses_…`, `hold_…`, `aud_…`): readable in logs, unguessable across
 * tenants, in the shapes upstream Haldir's clients know (`A–Z a–z 0–9 - _` after the prefix).
 * Web Crypto, so the same code runs on Node, Bun, Deno and edge runtimes.
 */
export function newId(prefix: IdPrefix): string {
  if (prefix === 'hold' || prefix === 'aud') {
    const minted = ahead[prefix]
    if (minted.length > 0) return minted.pop() as string
  }
  return encode(prefix)
}

// Ids of the kinds every governed call mints on its caller's path (its hold, its reservation's
// entry), encoded ahead by `mintIdsAhead` and each handed out once. As random as any other: the
// same pool, each byte once; only the encoding (and the string's hash) happens earlier.
const AHEAD: Readonly<Record<'hold' | 'aud', number>> = { hold: 256, aud: 512 }
const ahead: Record<'hold' | 'aud', string[]> = { hold: [], aud: [] }
// Asking a Set about an id makes V8 compute its hash now (strings keep it): the map that stores
// the id later does not.
const hashed = new Set<string>()

/**
 * Encodes hold and entry ids ahead, up to a few hundred of each (a batch's worth), for the calls to
 * come: work done after callers have their answers calls it (the memory store's seals), as it does
 * `drawIdsAhead`.
 */
export function mintIdsAhead(): void {
  for (const prefix of ['hold', 'aud'] as const) {
    const minted = ahead[prefix]
    while (minted.length < AHEAD[prefix]) {
      const id = encode(prefix)
      // Always true (the set stays empty); the answer is used, so the lookup, and the hash, stay.
      if (!hashed.has(id)) minted.push(id)
    }
  }
}
