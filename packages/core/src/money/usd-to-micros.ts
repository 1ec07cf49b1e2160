import { ValidationError } from '../errors/validation-error.ts'

/** One dollar in the integer unit every backend stores: micro-dollars. */
export const MICROS_PER_USD = 1_000_000

// Past this, micro-dollars stop being exact integers in a double.
const MAX_MICROS = Number.MAX_SAFE_INTEGER

/**
 * Converts a USD amount from the API edge to integer micro-dollars, refusing anything that
 * cannot be represented exactly: negative, NaN, infinite, or more than 6 decimals.
 */
export function usdToMicros(usd: unknown, path = 'amount'): number {
  if (typeof usd !== 'number') {
    throw new ValidationError({ issues: [{ path, message: `expected a number of USD, got ${describe(usd)}` }] })
  }
  if (!Number.isFinite(usd)) throw new ValidationError({ issues: [{ path, message: `must be finite, got ${usd}` }] })
  if (usd < 0) throw new ValidationError({ issues: [{ path, message: `must not be negative, got ${usd}` }] })
  const micros = Math.round(usd * MICROS_PER_USD)
  if (micros > MAX_MICROS) throw new ValidationError({ issues: [{ path, message: `is too large (${usd})` }] })
  // A literal with at most 6 decimals is the nearest double to micros / 1e6; anything else is not.
  if (micros / MICROS_PER_USD !== usd) {
    throw new ValidationError({ issues: [{ path, message: `has more than 6 decimals (${usd})` }] })
  }
  return micros
}

/** Micro-dollars back to a USD number; exact for every amount `usdToMicros` accepts. */
export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  return typeof value
}
