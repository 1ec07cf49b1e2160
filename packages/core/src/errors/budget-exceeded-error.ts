import { HaldirError } from './haldir-error.ts'
import { HaldirPermissionError } from './haldir-permission-error.ts'

const marker = 'haldir.error.budget_exceeded'
const symbol = Symbol.for(marker)

export interface BudgetExceededDetails {
  sessionId?: string
  /** The session whose limit refused the charge: the session itself or an ancestor (the crew). */
  limitingSessionId?: string
  requestedUsd?: number
  limitUsd?: number
  spentUsd?: number
  reservedUsd?: number
  /** The budget window that refused (`window:0`), when it was a window and not the lifetime limit. */
  window?: string
  /** A window's period, as people read it: `day (Europe/Berlin)`, `rolling 1h`. */
  windowDescription?: string
  /** When the window resets (ISO 8601). */
  resetsAt?: string
  /** Seconds until the window resets (or sheds money). */
  retryAfterSeconds?: number
}

/** The charge would take the session, or one of its ancestors, past its spend limit. Nothing was charged. */
export class BudgetExceededError extends HaldirPermissionError {
  private readonly [symbol] = true
  readonly limitingSessionId: string | undefined
  readonly requestedUsd: number | undefined
  readonly limitUsd: number | undefined
  readonly spentUsd: number | undefined
  readonly reservedUsd: number | undefined
  readonly window: string | undefined
  readonly resetsAt: string | undefined
  readonly retryAfterSeconds: number | undefined

  constructor({ message, cause, ...details }: BudgetExceededDetails & { message?: string; cause?: unknown }) {
    super({
      code: 'budget_exceeded',
      message:
        message ??
        `Budget exceeded: $${details.requestedUsd ?? '?'} requested, $${details.spentUsd ?? '?'} spent and $${details.reservedUsd ?? 0} reserved of $${details.limitUsd ?? '?'}` +
          (details.limitingSessionId && details.limitingSessionId !== details.sessionId ? ` (limit of ancestor ${details.limitingSessionId})` : ''),
      cause,
      sessionId: details.sessionId,
      data: { ...details },
    })
    this.name = 'BudgetExceededError'
    this.limitingSessionId = details.limitingSessionId
    this.requestedUsd = details.requestedUsd
    this.limitUsd = details.limitUsd
    this.spentUsd = details.spentUsd
    this.reservedUsd = details.reservedUsd
    this.window = details.window
    this.resetsAt = details.resetsAt
    this.retryAfterSeconds = details.retryAfterSeconds
  }

  static override isInstance(error: unknown): error is BudgetExceededError {
    return HaldirError.hasMarker(error, marker)
  }
}
