import { ValidationError } from '../errors/validation-error.ts'
import { MICROS_PER_USD, usdToMicros } from './usd-to-micros.ts'

/** USD per million tokens, as providers publish them. */
export interface TokenPrice {
  inputPerMTok: number
  outputPerMTok: number
}

export interface TokenUsage {
  inputTokens?: number | undefined
  outputTokens?: number | undefined
}

/**
 * The USD cost of a model call from its token usage, rounded **up** to the micro-dollar (a
 * metered call never costs less than it did). A price per million tokens is exactly a price in
 * micro-dollars per token, so the arithmetic stays in integers until the final rounding.
 */
export function tokenCost(usage: TokenUsage, price: TokenPrice): number {
  const input = tokens(usage.inputTokens, 'inputTokens')
  const output = tokens(usage.outputTokens, 'outputTokens')
  // Prices carry at most 6 decimals: scale them to integers so the products are exact.
  const inputPrice = usdToMicros(price.inputPerMTok, 'price.inputPerMTok')
  const outputPrice = usdToMicros(price.outputPerMTok, 'price.outputPerMTok')
  const picoMicros = input * inputPrice + output * outputPrice
  if (!Number.isSafeInteger(picoMicros)) throw new ValidationError({ issues: [{ path: 'usage', message: 'too many tokens to price exactly' }] })
  return Math.ceil(picoMicros / MICROS_PER_USD) / MICROS_PER_USD
}

function tokens(value: number | undefined, path: string): number {
  if (value === undefined) return 0
  if (!Number.isSafeInteger(value) || value < 0) throw new ValidationError({ issues: [{ path, message: `must be a non-negative integer, got ${value}` }] })
  return value
}
