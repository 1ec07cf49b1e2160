import { HaldirError } from './haldir-error.ts'
import { HaldirPermissionError } from './haldir-permission-error.ts'

const marker = 'haldir.error.rate_limited'
const symbol = Symbol.for(marker)

/**
 * A rate limit of the session (or an ancestor) is full: nothing ran, nothing was charged, and
 * the call may be retried after `retryAfterSeconds`.
 */
export class RateLimitedError extends HaldirPermissionError {
  private readonly [symbol] = true
  /** The limit that refused (`rate:0`). */
  readonly limit: string | undefined
  readonly limitingSessionId: string | undefined
  readonly retryAfterSeconds: number

  constructor({ message, sessionId, limitingSessionId, limit, retryAfterSeconds }: { message?: string; sessionId?: string; limitingSessionId?: string; limit?: string; retryAfterSeconds: number }) {
    super({ code: 'rate_limited', sessionId, message: message ?? `Rate limit reached; retry in ${retryAfterSeconds}s`, data: { limit, limitingSessionId, retryAfterSeconds } })
    this.name = 'RateLimitedError'
    this.limit = limit
    this.limitingSessionId = limitingSessionId
    this.retryAfterSeconds = retryAfterSeconds
  }

  static override isInstance(error: unknown): error is RateLimitedError {
    return HaldirError.hasMarker(error, marker)
  }
}
