import { describe, expect, it } from 'vitest'
import { EntryBytes } from './entry-bytes.ts'

describe('EntryBytes', () => {
  it('gives back each body, hash and id exactly, whatever the text, across chunks and growth', () => {
    const bytes = new EntryBytes()
    const bodies = ['{}', '{"text":"naïve – 日本語 😀 \\u2028"}', 'x'.repeat(5 * 1024 * 1024), '{"a":1}']
    const kept: { handle: number; body: string; hash: string; id: string }[] = []
    // Enough entries to grow the columns past their first 1,024, with one body bigger than a chunk.
    for (let index = 0; index < 3000; index++) {
      const body = (bodies[index % bodies.length] as string) + (index % 7 === 0 ? '' : `${index}`)
      const hash = index.toString(16).padStart(64, '0')
      const id = `aud_${index}_ü`
      kept.push({ handle: bytes.add(index === 2 ? body : body.slice(0, 600), hash, id), body: index === 2 ? body : body.slice(0, 600), hash, id })
    }
    for (const { handle, body, hash, id } of kept) {
      expect(bytes.body(handle)).toBe(body)
      expect(bytes.hash(handle)).toBe(hash)
      expect(bytes.id(handle)).toBe(id)
    }
  })
})
