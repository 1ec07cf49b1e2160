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

  it('bills cached reads, cache writes and reasoning at their own rates, inside the input and output totals', () => {
    const gpt = { inputPerMTok: 2.5, cachedInputPerMTok: 0.25, outputPerMTok: 15, reasoningPerMTok: 20 }
    // 2,000 uncached × $2.50 + 8,000 cached × $0.25 + 500 visible × $15 + 1,500 reasoning × $20, per million.
    expect(tokenCost({ inputTokens: 10_000, cachedInputTokens: 8_000, outputTokens: 2_000, reasoningTokens: 1_500 }, gpt)).toBe(0.0445)
    const claude = { inputPerMTok: 3, cacheWriteInputPerMTok: 3.75, cachedInputPerMTok: 0.3, outputPerMTok: 15 }
    // 100 uncached × $3 + 600 written × $3.75 + 300 read × $0.30 + 200 out × $15.
    expect(tokenCost({ inputTokens: 1000, cacheWriteInputTokens: 600, cachedInputTokens: 300, outputTokens: 200 }, claude)).toBe(0.00564)
    // Without their own rates, cached tokens bill as input and reasoning as output.
    expect(tokenCost({ inputTokens: 1000, cachedInputTokens: 1000, outputTokens: 100, reasoningTokens: 100 }, { inputPerMTok: 3, outputPerMTok: 15 })).toBe(0.0045)
  })

  it('reads a total smaller than its parts as the uncached part, so it never charges less', () => {
    const claude = { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 }
    // Anthropic's API reports input without cache reads: 100 uncached + 300 read.
    expect(tokenCost({ inputTokens: 100, cachedInputTokens: 300 }, claude)).toBe(0.00039)
    expect(tokenCost({ outputTokens: 10, reasoningTokens: 50 }, { inputPerMTok: 1, outputPerMTok: 10, reasoningPerMTok: 20 })).toBe(0.0011)
  })

  it('bills every token of a request past the long-context threshold at the long-context rates', () => {
    const haiku = {
      inputPerMTok: 0.1,
      cachedInputPerMTok: 0.01,
      outputPerMTok: 0.5,
      longContext: { aboveInputTokens: 100_000, inputPerMTok: 0.5, cachedInputPerMTok: 0.05, outputPerMTok: 2.5 },
    }
    expect(tokenCost({ inputTokens: 100_000, outputTokens: 1000 }, haiku)).toBe(0.0105)
    // One token more: 100,001 × $0.50 + 1,000 × $2.50, rounded up to the micro-dollar.
    expect(tokenCost({ inputTokens: 100_001, outputTokens: 1000 }, haiku)).toBe(0.052501)
    // Cached tokens count toward the prompt size: 1 × $0.50 + 100,000 × $0.05, rounded up.
    expect(tokenCost({ inputTokens: 100_001, cachedInputTokens: 100_000 }, haiku)).toBe(0.005001)
  })

  it('refuses bad usage and prices, and a price key it does not know', () => {
    expect(() => tokenCost({ inputTokens: -1 }, { inputPerMTok: 1, outputPerMTok: 1 })).toThrow(ValidationError)
    expect(() => tokenCost({ inputTokens: 1.5 }, { inputPerMTok: 1, outputPerMTok: 1 })).toThrow(ValidationError)
    expect(() => tokenCost({ reasoningTokens: -3 }, { inputPerMTok: 1, outputPerMTok: 1 })).toThrow(/reasoningTokens/)
    expect(() => tokenCost({ inputTokens: 1 }, { inputPerMTok: -1, outputPerMTok: 1 })).toThrow(ValidationError)
    expect(() => tokenCost({}, { inputPerMTok: 1, outputPerMTok: 1, cachedPerMTok: 0.1 } as never)).toThrow(/unknown option 'cachedPerMTok'/)
    expect(() => tokenCost({}, { inputPerMTok: 1, outputPerMTok: 1, cachedInputPerMTok: 0.1234567 })).toThrow(/more than 6 decimals/)
    expect(() => tokenCost({}, { inputPerMTok: 1, outputPerMTok: 1, longContext: { aboveInputTokens: 0, inputPerMTok: 2, outputPerMTok: 2 } })).toThrow(/aboveInputTokens/)
    expect(() => tokenCost({}, { inputPerMTok: 1, outputPerMTok: 1, longContext: { aboveInputTokens: 10, inputPerMTok: 2 } } as never)).toThrow(/longContext.outputPerMTok/)
  })
})
