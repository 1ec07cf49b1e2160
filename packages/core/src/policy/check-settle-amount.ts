import { ValidationError } from '../errors/validation-error.ts'
import { microsToUsd } from '../money/usd-to-micros.ts'

/** A hold is settled for at most what it holds; more would charge money no check ever allowed. */
export function checkSettleAmount(amountMicros: number, heldMicros: number): void {
  if (amountMicros > heldMicros) {
    throw new ValidationError({
      issues: [{ path: 'amount', message: `cannot settle $${microsToUsd(amountMicros)} against a hold of $${microsToUsd(heldMicros)}` }],
    })
  }
}
