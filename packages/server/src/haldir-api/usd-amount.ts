import { usdToMicros, ValidationError } from '@haldir/core'
import { invalidRequest } from './haldir-api-error.ts'

/**
 * A USD number from the wire as exact micro-dollars (`usdToMicros`: no float drift, at most 6
 * decimals), or upstream's validation answer naming the field.
 */
export function usdAmount(value: unknown, field: string): number {
  try {
    return usdToMicros(value, field)
  } catch (error) {
    if (ValidationError.isInstance(error)) throw invalidRequest(field, error.issues[0]?.message ?? 'not a USD amount')
    throw error
  }
}
