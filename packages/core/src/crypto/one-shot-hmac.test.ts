import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { oneShotHmacSha256Hex } from './one-shot-hmac.ts'

const nodeHmac = (key: Uint8Array, first: string, second: string) => createHmac('sha256', key).update(first).update(second).digest('hex')

describe('oneShotHmacSha256Hex', () => {
  it('is HMAC-SHA256 as RFC 4231 gives it, with a key longer than a block hashed first (case 6)', () => {
    const key = new Uint8Array(131).fill(0xaa)
    expect(oneShotHmacSha256Hex(key, 'Test Using Larger Than Block', '-Size Key - Hash Key First')).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54')
    // Case 1: a 20-byte key.
    expect(oneShotHmacSha256Hex(new Uint8Array(20).fill(0x0b), '', 'Hi There')).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7')
  })

  it("agrees with Node's Hmac on keys of every length around the block, and on every kind of text", () => {
    const texts = ['', 'x', 'a'.repeat(64), '€ and 🛡', 'lone \ud800 surrogate \udfff', 'prev\u0000body', 'ü'.repeat(3000)]
    for (const length of [1, 16, 32, 63, 64, 65, 200]) {
      const key = new Uint8Array(randomBytes(length))
      for (const first of texts) for (const second of texts) expect(oneShotHmacSha256Hex(key, first, second), `${length} ${first.length} ${second.length}`).toBe(nodeHmac(key, first, second))
    }
  })

  it('carries nothing from one message or key into the next, and takes messages past its scratch buffer', () => {
    const one = new Uint8Array(randomBytes(32))
    const other = new Uint8Array(randomBytes(32))
    const long = '🛡'.repeat(6000) // 24,000 bytes of UTF-8: past the 16 KiB scratch buffer
    const edge = 'y'.repeat(Math.floor((16 * 1024 - 64) / 3)) // the longest message the scratch buffer takes
    for (const [key, first, second] of [
      [one, 'a'.repeat(5000), 'b'],
      [one, '', 'b'],
      [other, '', 'b'],
      [one, long, long],
      [one, 'short', ''],
      [other, edge, ''],
      [other, edge, 'z'],
      // Three bytes of UTF-8 per code unit: the most a message can take for its length.
      [one, '€'.repeat(5440), ''],
      [one, '€'.repeat(8000), ''],
    ] as const) {
      expect(oneShotHmacSha256Hex(key, first, second)).toBe(nodeHmac(key, first, second))
    }
  })
})
