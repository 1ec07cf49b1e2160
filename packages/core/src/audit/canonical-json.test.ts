import { describe, expect, it } from 'vitest'
import { canonicalJson, keysInOrder } from './canonical-json.ts'

// What canonicalJson must equal: JSON.stringify of a copy whose object keys are inserted in
// sorted order (integer-like keys aside, which objects always list first: they are checked by hand).
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return sortedCopy((value as { toJSON(): unknown }).toJSON())
  if (Array.isArray(value)) return Array.from(value, (item) => sortedCopy(item))
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) copy[key] = sortedCopy((value as Record<string, unknown>)[key])
  return copy
}

describe('canonicalJson', () => {
  it.each([
    ['sorted keys', { a: 1, b: 'x', c: null }],
    ['unsorted keys at every depth', { z: { y: 1, x: [{ q: 1, p: 2 }] }, a: true }],
    ['dropped members', { b: undefined, a: () => 1, c: Symbol('s'), d: 'kept' }],
    ['text that needs escaping', { 'k"ey': 'a\nb', é: '🛡', lone: '\ud800' }],
    ['arrays of everything', [1, 'two', null, undefined, () => 3, { b: 2, a: 1 }, [], {}]],
    ['a date and a toJSON', { when: new Date(0), custom: { toJSON: () => ({ y: 1, x: 2 }) } }],
    ['numbers', { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, negativeZero: -0, big: 1e21, small: 1e-7 }],
    ['numbers at the top of arrays', [0.1 + 0.2, Number.NEGATIVE_INFINITY, Number.MAX_VALUE, 5e-324, -1.5e-10, 123456789012345680000]],
  ])('is JSON.stringify with keys sorted: %s', (_name, value) => {
    expect(canonicalJson(value)).toBe(JSON.stringify(sortedCopy(value)))
    // Where keysInOrder says so, the canonical text is JSON.stringify's own (the memory store relies on it).
    if (keysInOrder(value)) expect(canonicalJson(value)).toBe(JSON.stringify(value))
  })

  it('tells keys out of order at any depth, through arrays and toJSON', () => {
    expect([{ a: 1, b: { c: [{ d: 1, e: 2 }] } }, [1, { a: 1 }], new Date(0), 'text', null].map(keysInOrder)).toEqual([true, true, true, true, true])
    const unordered = [{ b: 1, a: 2 }, { a: { y: 1, x: 2 } }, [{ a: [{ z: 1, y: 2 }] }], { toJSON: () => ({ b: 1, a: 2 }) }, { 9: 'nine', 10: 'ten' }]
    expect(unordered.map(keysInOrder)).toEqual([false, false, false, false, false])
    for (const value of unordered) expect(canonicalJson(value)).not.toBe(JSON.stringify(value))
  })

  it('sorts keys by UTF-16 code unit, integer-like keys included, whatever order the object lists them in', () => {
    expect(canonicalJson({ b: 1, 10: 'ten', 9: 'nine', a: 2 })).toBe('{"10":"ten","9":"nine","a":2,"b":1}')
    expect(canonicalJson({ B: 1, a: 2, _: 3 })).toBe('{"B":1,"_":3,"a":2}')
  })

  it('writes a hole in an array as null, as JSON.stringify and every database do', () => {
    const sparse = [, 1]
    expect(canonicalJson(sparse)).toBe('[null,1]')
    expect(canonicalJson(sparse)).toBe(JSON.stringify(sparse))
  })
})
