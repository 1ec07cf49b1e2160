import { describe, expect, it, vi } from 'vitest'
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

  it('hands out hold and entry ids encoded ahead once each, as random and well formed as the rest', async () => {
    vi.resetModules()
    const fresh = await import('./new-id.ts')
    const seen = new Set<string>()
    let minted = 0
    for (let round = 0; round < 6; round++) {
      fresh.mintIdsAhead()
      // More than were minted ahead of each kind: the rest are encoded on the spot, from the same pool.
      for (let index = 0; index < 700; index++) {
        for (const prefix of ['hold', 'aud', 'ses'] as const) {
          const id = fresh.newId(prefix)
          expect(id).toMatch(new RegExp(`^${prefix}_[A-Za-z0-9_-]{${prefix === 'ses' ? 32 : 22}}$`))
          seen.add(id)
          minted++
        }
      }
    }
    // A byte handed out twice (ahead and again on the spot) would repeat an id.
    expect(seen.size).toBe(minted)
  })

  it('draws random bytes for the very first id of a process, and for the first after each new pool', async () => {
    // A fresh module is a fresh process as far as the pool goes: its first ids must differ.
    const firsts = new Set<string>()
    for (let run = 0; run < 3; run++) {
      vi.resetModules()
      const fresh = (await import('./new-id.ts')).newId
      firsts.add(fresh('ses'))
      // Past a refill of the pool (64 KiB, 16 bytes an id): no id made only of zero bytes.
      for (let index = 0; index < 4200; index++) expect(fresh('aud')).not.toBe(`aud_${'A'.repeat(22)}`)
    }
    expect(firsts.size).toBe(3)
    for (const id of firsts) expect(id).not.toBe(`ses_${'A'.repeat(32)}`)
  })

  it('draws a fresh pool ahead only once less than a quarter of it is left, and hands out no byte twice', async () => {
    vi.resetModules()
    const fresh = await import('./new-id.ts')
    const draws = vi.spyOn(crypto, 'getRandomValues')
    try {
      const seen = new Set<string>()
      const mint = (count: number) => {
        for (let index = 0; index < count; index++) seen.add(fresh.newId('aud'))
      }
      // The first id draws the pool (64 KiB): 3,071 more of 16 bytes leave exactly a quarter.
      mint(3072)
      expect(draws).toHaveBeenCalledTimes(1)
      fresh.drawIdsAhead()
      expect(draws).toHaveBeenCalledTimes(1)
      // One more id, and less than a quarter is left: drawn ahead, then the ids after come from it.
      mint(1)
      fresh.drawIdsAhead()
      expect(draws).toHaveBeenCalledTimes(2)
      mint(4095)
      expect(draws).toHaveBeenCalledTimes(2)
      expect(seen.size).toBe(3072 + 1 + 4095)
    } finally {
      draws.mockRestore()
    }
  })
})
