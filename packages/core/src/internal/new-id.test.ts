import { describe, expect, it } from 'vitest'
import { type IdPrefix, newId } from './new-id.ts'

const BYTES: Record<IdPrefix, number> = { ses: 24, hold: 16, aud: 16, apr: 16, rul: 12, evt: 16 }

describe('newId', () => {
  it.each(Object.entries(BYTES) as [IdPrefix, number][])('makes %s ids of %i random bytes, as canonical unpadded base64url', (prefix, bytes) => {
    for (let index = 0; index < 200; index++) {
      const id = newId(prefix)
      expect(id.startsWith(`${prefix}_`)).toBe(true)
      const encoded = id.slice(prefix.length + 1)
      expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/)
      // Decoding and encoding again gives the same text: the bits past the last byte are zero.
      const decoded = Buffer.from(encoded, 'base64url')
      expect(decoded).toHaveLength(bytes)
      expect(decoded.toString('base64url')).toBe(encoded)
    }
  })

  it('never repeats, across many refills of its random pool, and uses every character', () => {
    const seen = new Set<string>()
    const characters = new Set<string>()
    // 16 bytes an id: 20,000 ids draw the 64 KiB pool about five times.
    for (let index = 0; index < 20_000; index++) {
      const id = newId(index % 2 === 0 ? 'aud' : 'ses')
      seen.add(id)
      for (const character of id.slice(4)) characters.add(character)
    }
    expect(seen.size).toBe(20_000)
    expect(characters.size).toBe(64)
  })
})
