import { describe, expect, it } from 'vitest'
import { ValidationError } from '../errors/validation-error.ts'
import { tokenCost } from './token-cost.ts'

describe('tokenCost', () => {
  it('prices usage exactly and rounds up to the micro-dollar', () => {
    expect(tokenCost({ inputTokens: 1_000_000, outputTokens: 0 }, { inputPerMTok: 3, outputPerMTok: 15 })).toBe(3)
    expect(tokenCost({ inputTokens: 1000, outputTokens: 500 }, { inputPerMTok: 3, outputPerMTok: 15 })).toBe(0.0105)
    expect(tokenCost({ inputTokens: 1001, outputTokens: 0 }, { inputPerMTok: 2.5, outputPerMTok: 10 })).toBe(0.002503)
    expect(tokenCost({ inputTokens: 1, outputTokens: 1 }, { inputPerMTok: 0.15, outputPerMTok: 0.6 })).toBe(0.000001)
    expect(tokenCost({}, { inputPerMTok: 3, outputPerMTok: 15 })).toBe(0)
  })

  it('refuses bad usage and prices', () => {
    expect(() => tokenCost({ inputTokens: -1 }, { inputPerMTok: 1, outputPerMTok: 1 })).toThrow(ValidationError)
    expect(() => tokenCost({ inputTokens: 1.5 }, { inputPerMTok: 1, outputPerMTok: 1 })).toThrow(ValidationError)
    expect(() => tokenCost({ inputTokens: 1 }, { inputPerMTok: -1, outputPerMTok: 1 })).toThrow(ValidationError)
  })
})
