import { HaldirError, type HaldirErrorOptions } from './haldir-error.ts'

const marker = 'haldir.error.permission'
const symbol = Symbol.for(marker)

/**
 * The permission family: every refusal of the gate (scope, budget, expiry, revocation).
 * Kept under the name of the Python recipe's `HaldirPermissionError`, so `catch` blocks ported
 * from it keep working.
 */
export class HaldirPermissionError extends HaldirError {
  private readonly [symbol] = true
  readonly sessionId: string | undefined

  constructor(options: HaldirErrorOptions & { sessionId?: string }) {
    super(options)
    this.name = 'HaldirPermissionError'
    this.sessionId = options.sessionId
  }

  static override isInstance(error: unknown): error is HaldirPermissionError {
    return HaldirError.hasMarker(error, marker)
  }
}
