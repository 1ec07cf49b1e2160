import { describe, expect, it } from 'vitest'
import { ValidationError } from '../errors/validation-error.ts'
import { findModelPrice, modelPrice } from './model-price.ts'
import { MODEL_PRICES, MODEL_PRICES_CHECKED } from './model-prices.ts'
import { tokenCost } from './token-cost.ts'

describe('modelPrice', () => {
  it("finds a model's list price by its API id, with a gateway prefix or a dated snapshot suffix", () => {
    expect(modelPrice('gpt-5.4-mini')).toEqual({ inputPerMTok: 0.75, cachedInputPerMTok: 0.075, outputPerMTok: 4.5 })
    expect(modelPrice('openai/gpt-4o-mini')).toBe(modelPrice('gpt-4o-mini'))
    expect(modelPrice('gpt-4o-mini-2024-07-18')).toBe(modelPrice('gpt-4o-mini'))
    expect(modelPrice('claude-sonnet-4-5-20250929')).toMatchObject({ inputPerMTok: 3, cacheWriteInputPerMTok: 3.75, cachedInputPerMTok: 0.3, outputPerMTok: 15 })
    expect(modelPrice('anthropic/claude-haiku-5-5').longContext).toMatchObject({ aboveInputTokens: 100_000, inputPerMTok: 0.5 })
    expect(modelPrice('models/gemini-2.5-pro')).toBe(modelPrice('gemini-2.5-pro'))
    expect(modelPrice('Mistral-Medium-Latest')).toBe(modelPrice('mistral-medium-3.5'))
  })

  it('prices a metered call from the table the way providers bill it', () => {
    // gpt-5.4: 2,000 uncached × $2.50 + 8,000 cached × $0.25 + 2,000 output × $15 (reasoning included), per million.
    expect(tokenCost({ inputTokens: 10_000, cachedInputTokens: 8_000, outputTokens: 2_000, reasoningTokens: 1_500 }, modelPrice('gpt-5.4'))).toBe(0.037)
    // gemini-2.5-pro past 200K prompt tokens: the whole request at $2.50 in, $15 out.
    expect(tokenCost({ inputTokens: 200_001, outputTokens: 1000 }, modelPrice('gemini-2.5-pro'))).toBe(0.515003)
    // claude-opus-5: 1,000 written at $6.25, 9,000 read at $0.50, 500 out at $25.
    expect(tokenCost({ inputTokens: 10_000, cacheWriteInputTokens: 1000, cachedInputTokens: 9000, outputTokens: 500 }, modelPrice('claude-opus-5'))).toBe(0.02325)
  })

  it('refuses a model it has no price for, saying how to give one, and never prices it at $0', () => {
    expect(findModelPrice('llama-9-400b')).toBeUndefined()
    const error = (() => {
      try {
        modelPrice('llama-9-400b')
      } catch (caught) {
        return caught
      }
    })()
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as ValidationError).message).toContain(`'llama-9-400b'`)
    expect((error as ValidationError).message).toContain(MODEL_PRICES_CHECKED)
    expect((error as ValidationError).message).toContain('prices')
    // A host-specific id is not mistaken for the first-party model (its price may differ).
    expect(findModelPrice('us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toBeUndefined()
    expect(() => modelPrice('')).toThrow(ValidationError)
  })

  it('takes prices of your own before the table, and checks them', () => {
    const negotiated = { inputPerMTok: 2, outputPerMTok: 12 }
    expect(modelPrice('gpt-5.4', { prices: { 'gpt-5.4': negotiated } })).toBe(negotiated)
    expect(modelPrice('my-finetune-2026-01-02', { prices: { 'my-finetune': negotiated } })).toBe(negotiated)
    expect(() => modelPrice('mine', { prices: { mine: { inputPerMTok: 2, outputPerMTok: -1 } } })).toThrow(ValidationError)
    // An inherited key is not a price.
    expect(findModelPrice('constructor', { prices: {} })).toBeUndefined()
  })
})

describe('MODEL_PRICES', () => {
  it('is dated, sourced, and holds only well-formed prices, each id once', () => {
    expect(MODEL_PRICES_CHECKED).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    const ids = MODEL_PRICES.flatMap((entry) => entry.models)
    expect(new Set(ids).size).toBe(ids.length)
    for (const entry of MODEL_PRICES) {
      expect(entry.source, entry.models[0]).toMatch(/^https:\/\//)
      for (const id of entry.models) expect(id, id).toBe(id.toLowerCase())
      expect(() => tokenCost({}, entry.price), entry.models[0]).not.toThrow()
      const { price } = entry
      // Discounts are discounts, and the long-context tier is never cheaper than the base.
      expect(price.cachedInputPerMTok ?? 0, entry.models[0]).toBeLessThanOrEqual(price.inputPerMTok)
      if (price.longContext) {
        expect(price.longContext.inputPerMTok, entry.models[0]).toBeGreaterThanOrEqual(price.inputPerMTok)
        expect(price.longContext.outputPerMTok, entry.models[0]).toBeGreaterThanOrEqual(price.outputPerMTok)
      }
    }
    // The common models of the four providers are all there.
    for (const id of ['gpt-5.4-mini', 'claude-sonnet-5-5', 'gemini-3.5-flash', 'mistral-medium-latest']) expect(findModelPrice(id), id).toBeDefined()
  })
})
