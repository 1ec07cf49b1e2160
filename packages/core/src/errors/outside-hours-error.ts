import { HaldirError } from './haldir-error.ts'
import { HaldirPermissionError } from './haldir-permission-error.ts'

const marker = 'haldir.error.outside_hours'
const symbol = Symbol.for(marker)

/** The session's active hours are over: nothing ran; calls are allowed again in `retryAfterSeconds`. */
export class OutsideHoursError extends HaldirPermissionError {
  private readonly [symbol] = true
  readonly retryAfterSeconds: number
  readonly limitingSessionId: string | undefined

  constructor({ message, sessionId, limitingSessionId, retryAfterSeconds }: { message?: string; sessionId?: string; limitingSessionId?: string; retryAfterSeconds: number }) {
    super({ code: 'outside_hours', sessionId, message: message ?? `Outside the session's active hours; they begin in ${retryAfterSeconds}s`, data: { retryAfterSeconds, limitingSessionId } })
    this.name = 'OutsideHoursError'
    this.retryAfterSeconds = retryAfterSeconds
    this.limitingSessionId = limitingSessionId
  }

  static override isInstance(error: unknown): error is OutsideHoursError {
    return HaldirError.hasMarker(error, marker)
  }
}
