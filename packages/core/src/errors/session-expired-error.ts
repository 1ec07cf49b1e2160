import { HaldirError } from './haldir-error.ts'
import { HaldirPermissionError } from './haldir-permission-error.ts'

const marker = 'haldir.error.session_expired'
const symbol = Symbol.for(marker)

/** The session (or an ancestor) is past its `expiresAt`. */
export class SessionExpiredError extends HaldirPermissionError {
  private readonly [symbol] = true
  readonly expiresAt: string | undefined

  constructor({ sessionId, expiresAt, message, cause }: { sessionId?: string; expiresAt?: string; message?: string; cause?: unknown }) {
    super({
      code: 'session_expired',
      message: message ?? `Session ${sessionId ?? '?'} expired at ${expiresAt ?? '?'}`,
      cause,
      sessionId,
      data: { sessionId, expiresAt },
    })
    this.name = 'SessionExpiredError'
    this.expiresAt = expiresAt
  }

  static override isInstance(error: unknown): error is SessionExpiredError {
    return HaldirError.hasMarker(error, marker)
  }
}
