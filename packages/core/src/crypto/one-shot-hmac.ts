import { createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto'

// HMAC-SHA256 (RFC 2104) as two one-shot SHA-256 hashes: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ message)).
// Node's Hmac object costs ~1.6 µs a call before it hashes a byte (a KeyObject, a native object,
// its finaliser); two `crypto.hash` calls over a reused buffer cost ~1.1 µs for an audit entry,
// and the audit chain seals two entries per governed call. The padded keys are made once per key
// (Hmac over a raw key would re-import it on every call, ~11 µs; the long-message path keeps a KeyObject).

const BLOCK = 64
// Messages longer than this are hashed through Node's Hmac: the scratch buffer stays small.
const SCRATCH_BYTES = 16 * 1024

interface PaddedKey {
  inner: Buffer
  outer: Buffer
  keyObject: KeyObject
}

const paddedKeys = new WeakMap<Uint8Array, PaddedKey>()
// (K ⊕ ipad) then the message; reused, which is safe because every hash here runs synchronously.
let scratch: Buffer | undefined
// (K ⊕ opad) then the inner digest.
const outerBlock = Buffer.alloc(BLOCK + 32)

function paddedKeyOf(key: Uint8Array): PaddedKey {
  let padded = paddedKeys.get(key)
  if (padded) return padded
  // A key longer than a block is replaced by its hash, as RFC 2104 says.
  const bytes = key.length > BLOCK ? hash('sha256', key, 'buffer') : key
  const inner = Buffer.alloc(BLOCK, 0x36)
  const outer = Buffer.alloc(BLOCK, 0x5c)
  for (let index = 0; index < bytes.length; index++) {
    inner[index] = (inner[index] as number) ^ (bytes[index] as number)
    outer[index] = (outer[index] as number) ^ (bytes[index] as number)
  }
  padded = { inner, outer, keyObject: createSecretKey(key) }
  paddedKeys.set(key, padded)
  return padded
}

/** Whether (K ⊕ ipad) ‖ first ‖ second surely fits the scratch buffer (a UTF-16 code unit is at most 3 bytes of UTF-8). */
function fits(first: string, second: string): boolean {
  return BLOCK + 3 * (first.length + second.length) <= SCRATCH_BYTES
}

/** Writes (K ⊕ ipad) ‖ `first` at the start of the scratch buffer; returns where it ends. */
function writeFirst(padded: PaddedKey, first: string): number {
  scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES)
  padded.inner.copy(scratch, 0)
  return BLOCK + scratch.write(first, BLOCK, 'utf8')
}

/** Writes `text` into the scratch buffer at `at`; returns where it ends. */
function writeAt(text: string, at: number): number {
  return at + (scratch as Buffer).write(text, at, 'utf8')
}

/** H((K ⊕ opad) ‖ H(the first `end` bytes of the scratch buffer)). */
function finish(padded: PaddedKey, end: number): string {
  // The inner digest as a latin1 ('binary') string: a Buffer result costs more than both hashes' copying.
  const innerDigest = hash('sha256', (scratch as Buffer).subarray(0, end), 'binary')
  padded.outer.copy(outerBlock, 0)
  outerBlock.write(innerDigest, BLOCK, 'latin1')
  return hash('sha256', outerBlock, 'hex')
}

/** HMAC-SHA256 with `key` over `first` then `second` (UTF-8), lowercase hex. */
export function oneShotHmacSha256Hex(key: Uint8Array, first: string, second: string): string {
  const padded = paddedKeyOf(key)
  if (!fits(first, second)) return createHmac('sha256', padded.keyObject).update(first).update(second).digest('hex')
  return finish(padded, writeAt(second, writeFirst(padded, first)))
}

/** The HMAC of {@link oneShotHmacSha256Hex} and the RFC 6962 leaf hash of `second`, from one encoding of it. */
export function oneShotHmacAndLeafHex(key: Uint8Array, first: string, second: string): [hmac: string, leaf: string] {
  const padded = paddedKeyOf(key)
  if (!fits(first, second)) {
    return [createHmac('sha256', padded.keyObject).update(first).update(second).digest('hex'), hash('sha256', `\u0000${second}`, 'hex')]
  }
  const secondStart = writeFirst(padded, first)
  const end = writeAt(second, secondStart)
  const buffer = scratch as Buffer
  // The leaf is SHA-256(0x00 ‖ second): the byte before `second` (the end of `first`, or of the
  // padded key) is 0 for that one hash and put back before the HMAC reads it.
  const before = secondStart - 1
  const kept = buffer[before] as number
  buffer[before] = 0
  const leaf = hash('sha256', buffer.subarray(before, end), 'hex')
  buffer[before] = kept
  return [finish(padded, end), leaf]
}
