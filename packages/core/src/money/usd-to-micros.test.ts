import { describe, expect, it } from 'vitest'
import { ValidationError } from '../errors/validation-error.ts'
import { microsToUsd, usdToMicros } from './usd-to-micros.ts'

describe('usdToMicros', () => {
  it.each([
    [0, 0],
    [0.1, 100_000],
    [0.3, 300_000],
    [0.000001, 1],
    [1.999999, 1_999_999],
    [1234567.89, 1_234_567_890_000],
  ])('converts %s exactly', (usd, micros) => {
    expect(usdToMicros(usd)).toBe(micros)
    expect(microsToUsd(micros)).toBe(usd)
  })

  it('sums 0.1 + 0.2 to exactly 0.3', () => {
    expect(microsToUsd(usdToMicros(0.1) + usdToMicros(0.2))).toBe(0.3)
    expect(0.1 + 0.2).not.toBe(0.3)
  })

  it.each([[-0.01], [Number.NaN], [Number.POSITIVE_INFINITY], [0.0000001], [0.1234567], [1e20], ['1'], [null], [undefined]])('refuses %s', (value) => {
    expect(() => usdToMicros(value, 'amount')).toThrow(ValidationError)
  })

  it('names the offending field', () => {
    expect(() => usdToMicros(-1, 'spendLimit')).toThrow(/spendLimit: must not be negative/)
  })
})
