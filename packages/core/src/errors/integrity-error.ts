import { HaldirError } from './haldir-error.ts'

const marker = 'haldir.error.integrity'
const symbol = Symbol.for(marker)

/** Stored data does not check out: a sealed secret that will not open, a key that is not configured. Nothing was revealed. */
export class IntegrityError extends HaldirError {
  private readonly [symbol] = true

  constructor({ message, cause, data }: { message: string; cause?: unknown; data?: Record<string, unknown> }) {
    super({ code: 'integrity_error', message, cause, data: data ?? {} })
    this.name = 'IntegrityError'
  }

  static override isInstance(error: unknown): error is IntegrityError {
    return HaldirError.hasMarker(error, marker)
  }
}
