import { sha256Hex } from '#crypto'

/** A key's public name: the first 16 hex of SHA-256 of the key. Sealed things carry it so keys can rotate. */
export function keyIdOf(key: Uint8Array): string {
  return sha256Hex(key).slice(0, 16)
}
