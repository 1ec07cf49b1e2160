import { createHash } from 'node:crypto'

/** A key's public name: the first 16 hex of SHA-256 of the key. Sealed things carry it so keys can rotate. */
export function keyIdOf(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16)
}
