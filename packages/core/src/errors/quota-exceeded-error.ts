import { HaldirError } from './haldir-error.ts'

const marker = 'haldir.error.quota_exceeded'
const symbol = Symbol.for(marker)

/** The tenant has used the storage its backend allows it; nothing was written. */
export class QuotaExceededError extends HaldirError {
  private readonly [symbol] = true

  constructor({ message, data }: { message: string; data?: Record<string, unknown> }) {
    super({ code: 'quota_exceeded', message, data: data ?? {} })
    this.name = 'QuotaExceededError'
  }

  static override isInstance(error: unknown): error is QuotaExceededError {
    return HaldirError.hasMarker(error, marker)
  }
}
