import { describe, expect, it } from 'vitest'
import { RecentMap } from './recent-map.ts'

describe('RecentMap', () => {
  it('remembers at least the last max/2 entries and forgets older generations', () => {
    const map = new RecentMap<number, string>(10)
    for (let index = 0; index < 23; index++) map.set(index, `v${index}`)
    for (let index = 23 - 5; index < 23; index++) expect(map.get(index)).toBe(`v${index}`)
    expect(map.get(0)).toBeUndefined()
    expect(map.get(9)).toBeUndefined()
  })
})
