import { describe, expect, it } from 'vitest'
import { toTokenUsage } from './to-token-usage.ts'

describe('toTokenUsage', () => {
  it('keeps totals and the counts of cached, cache-written and reasoning tokens', () => {
    expect(
      toTokenUsage({ inputTokens: { total: 1000, noCache: 100, cacheRead: 600, cacheWrite: 300 }, outputTokens: { total: 50, text: 20, reasoning: 30 } }),
    ).toEqual({ inputTokens: 1000, cachedInputTokens: 600, cacheWriteInputTokens: 300, outputTokens: 50, reasoningTokens: 30 })
  })

  it('sums the parts when a provider reports no total, and leaves absent counts absent', () => {
    expect(toTokenUsage({ inputTokens: { total: undefined, noCache: 100, cacheRead: 600, cacheWrite: undefined }, outputTokens: { total: undefined, text: 20, reasoning: 30 } })).toEqual({
      inputTokens: 700,
      cachedInputTokens: 600,
      cacheWriteInputTokens: undefined,
      outputTokens: 50,
      reasoningTokens: 30,
    })
    expect(toTokenUsage({})).toEqual({ inputTokens: undefined, cachedInputTokens: undefined, cacheWriteInputTokens: undefined, outputTokens: undefined, reasoningTokens: undefined })
  })
})
