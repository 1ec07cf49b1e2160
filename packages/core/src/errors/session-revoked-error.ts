import { HaldirError } from './haldir-error.ts'
import { HaldirPermissionError } from './haldir-permission-error.ts'

const marker = 'haldir.error.session_revoked'
const symbol = Symbol.for(marker)

/** The session, or an ancestor, was revoked. */
export class SessionRevokedError extends HaldirPermissionError {
  private readonly [symbol] = true
  readonly revokedSessionId: string | undefined

  constructor({ sessionId, revokedSessionId, message, cause }: { sessionId?: string; revokedSessionId?: string; message?: string; cause?: unknown }) {
    super({
      code: 'session_revoked',
      message:
        message ??
        `Session ${sessionId ?? '?'} is revoked` + (revokedSessionId && revokedSessionId !== sessionId ? ` (ancestor ${revokedSessionId} was revoked)` : ''),
      cause,
      sessionId,
      data: { sessionId, revokedSessionId },
    })
    this.name = 'SessionRevokedError'
    this.revokedSessionId = revokedSessionId
  }

  static override isInstance(error: unknown): error is SessionRevokedError {
    return HaldirError.hasMarker(error, marker)
  }
}
