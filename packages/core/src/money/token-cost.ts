import { ValidationError } from '../errors/validation-error.ts'
import { checkOptionKeys } from '../internal/check-option-keys.ts'
import { MICROS_PER_USD, usdToMicros } from './usd-to-micros.ts'

/** USD per million tokens, as providers publish them. */
export interface TokenPrice {
  inputPerMTok: number
  outputPerMTok: number
  /** Input tokens read from the provider's prompt cache. @default inputPerMTok */
  cachedInputPerMTok?: number
  /** Input tokens written to the prompt cache (Anthropic; OpenAI's newest models). @default inputPerMTok */
  cacheWriteInputPerMTok?: number
  /** Reasoning ("thinking") tokens. OpenAI, Anthropic, Google and Mistral bill them as output. @default outputPerMTok */
  reasoningPerMTok?: number
  /** Prices for the whole request once its prompt passes a size (Gemini Pro, GPT-5.4 and later, Claude Haiku 5.5). */
  longContext?: LongContextPrice
}

/** A long-context tier: every token of a request whose prompt is larger than `aboveInputTokens` is billed at these prices. */
export interface LongContextPrice extends Omit<TokenPrice, 'longContext'> {
  /** Prompt tokens (cached and written included) a request may have at the base prices. */
  aboveInputTokens: number
}

/**
 * What a model call used. `inputTokens` counts every prompt token, cached and written ones
 * included; `outputTokens` every generated token, reasoning included (the AI SDK's and
 * LangChain's convention). The other fields say how many of them were of each kind.
 */
export interface TokenUsage {
  inputTokens?: number | undefined
  outputTokens?: number | undefined
  /** Of `inputTokens`, read from the prompt cache. */
  cachedInputTokens?: number | undefined
  /** Of `inputTokens`, written to the prompt cache. */
  cacheWriteInputTokens?: number | undefined
  /** Of `outputTokens`, spent reasoning. */
  reasoningTokens?: number | undefined
}

const PRICE_KEYS = ['inputPerMTok', 'outputPerMTok', 'cachedInputPerMTok', 'cacheWriteInputPerMTok', 'reasoningPerMTok', 'longContext'] as const
const LONG_CONTEXT_KEYS = ['aboveInputTokens', 'inputPerMTok', 'outputPerMTok', 'cachedInputPerMTok', 'cacheWriteInputPerMTok', 'reasoningPerMTok'] as const

/** Micro-dollars per million tokens for each kind of token: exactly micro-dollars per token × 10⁶. */
interface Rates {
  input: number
  cached: number
  written: number
  output: number
  reasoning: number
}

/**
 * The USD cost of a model call from its token usage, rounded **up** to the micro-dollar (a
 * metered call never costs less than it did). A price per million tokens is exactly a price in
 * micro-dollars per token, so the arithmetic stays in integers until the final rounding.
 * Cached, cache-written and reasoning tokens are billed at their own prices where the price has
 * them; past `longContext.aboveInputTokens` prompt tokens, the whole request at the long-context
 * prices. A price with an unknown key (a typo would bill tokens at the wrong rate) is refused.
 */
export function tokenCost(usage: TokenUsage, price: TokenPrice): number {
  const base = ratesOf(price, 'price', PRICE_KEYS)
  const long = price.longContext === undefined ? undefined : ratesOf(price.longContext, 'price.longContext', LONG_CONTEXT_KEYS)
  const threshold = price.longContext?.aboveInputTokens
  if (threshold !== undefined && (!Number.isSafeInteger(threshold) || threshold <= 0)) {
    throw new ValidationError({ issues: [{ path: 'price.longContext.aboveInputTokens', message: `must be a positive integer, got ${threshold}` }] })
  }
  const input = tokens(usage.inputTokens, 'inputTokens')
  const output = tokens(usage.outputTokens, 'outputTokens')
  const cached = tokens(usage.cachedInputTokens, 'cachedInputTokens')
  const written = tokens(usage.cacheWriteInputTokens, 'cacheWriteInputTokens')
  const reasoning = tokens(usage.reasoningTokens, 'reasoningTokens')
  // A total smaller than its parts did not include them (Anthropic's own API reports input that
  // way): reading it as the uncached part never charges less than was used.
  const uncached = input >= cached + written ? input - cached - written : input
  const visible = output >= reasoning ? output - reasoning : output
  const rates = long && threshold !== undefined && uncached + cached + written > threshold ? long : base
  const picoMicros = uncached * rates.input + cached * rates.cached + written * rates.written + visible * rates.output + reasoning * rates.reasoning
  if (!Number.isSafeInteger(picoMicros)) throw new ValidationError({ issues: [{ path: 'usage', message: 'too many tokens to price exactly' }] })
  return Math.ceil(picoMicros / MICROS_PER_USD) / MICROS_PER_USD
}

function ratesOf(price: Omit<TokenPrice, 'longContext'>, path: string, keys: readonly string[]): Rates {
  if (typeof price !== 'object' || price === null) throw new ValidationError({ issues: [{ path, message: 'must be an object of USD per million tokens' }] })
  checkOptionKeys(price, keys, path)
  // Prices carry at most 6 decimals: scale them to integers so the products are exact.
  const input = usdToMicros(price.inputPerMTok, `${path}.inputPerMTok`)
  const output = usdToMicros(price.outputPerMTok, `${path}.outputPerMTok`)
  const optional = (value: number | undefined, name: string, fallback: number) => (value === undefined ? fallback : usdToMicros(value, `${path}.${name}`))
  return {
    input,
    output,
    cached: optional(price.cachedInputPerMTok, 'cachedInputPerMTok', input),
    written: optional(price.cacheWriteInputPerMTok, 'cacheWriteInputPerMTok', input),
    reasoning: optional(price.reasoningPerMTok, 'reasoningPerMTok', output),
  }
}

function tokens(value: number | undefined, path: string): number {
  // Some providers report a count they do not have as null.
  if (value === undefined || value === null) return 0
  if (!Number.isSafeInteger(value) || value < 0) throw new ValidationError({ issues: [{ path, message: `must be a non-negative integer, got ${value}` }] })
  return value
}
