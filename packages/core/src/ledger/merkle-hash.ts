import { concatBytes, fromHex, sha256Hex } from '#crypto'

/** SHA-256 of the empty string: the root of an empty RFC 6962 tree. */
export const EMPTY_ROOT = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** RFC 6962 leaf hash: SHA-256(0x00 ‖ leaf bytes), lowercase hex. */
export function leafHash(leafBytes: string | Uint8Array): string {
  return sha256Hex(typeof leafBytes === 'string' ? `\u0000${leafBytes}` : concatBytes(LEAF_PREFIX, leafBytes))
}

const LEAF_PREFIX = new Uint8Array([0])
const NODE_PREFIX = new Uint8Array([1])

/** RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right), of two hex hashes. */
export function nodeHash(left: string, right: string): string {
  return sha256Hex(concatBytes(NODE_PREFIX, fromHex(left), fromHex(right)))
}

/** The largest power of two strictly smaller than `n` (n ≥ 2): where RFC 6962 splits a tree. */
export function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}
