import { describe, expect, it } from 'vitest'
import { jsonString } from './json-string.ts'

describe('jsonString', () => {
  it.each(['', 'plain', 'aud_0b8f2a1c-7f6e', '2026-11-24T12:00:00.000Z', 'a"b', 'x\\y', '\u0000', '\u001f', '\u007f', 'é€', '😀', '\ud800', 'x\udfffy', '\ud83d\ude00', '\u2028', '</script>'])(
    'quotes %j exactly as JSON.stringify does',
    (text) => {
      expect(jsonString(text)).toBe(JSON.stringify(text))
    },
  )

  it('agrees with JSON.stringify on every single UTF-16 code unit', () => {
    for (let unit = 0; unit < 0x10000; unit++) {
      const text = `a${String.fromCharCode(unit)}b`
      if (jsonString(text) !== JSON.stringify(text)) throw new Error(`differs at U+${unit.toString(16)}`)
    }
  })
})
