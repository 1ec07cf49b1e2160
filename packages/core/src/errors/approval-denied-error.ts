import { HaldirError } from './haldir-error.ts'
import { HaldirPermissionError } from './haldir-permission-error.ts'

const marker = 'haldir.error.approval_denied'
const symbol = Symbol.for(marker)

/** A person denied the call, or nobody approved it in time: it did not run, and its held cost was released. */
export class ApprovalDeniedError extends HaldirPermissionError {
  private readonly [symbol] = true
  readonly approvalId: string
  /** `denied` by a person, or `expired` (nobody decided in time, or the session ended first). */
  readonly status: 'denied' | 'expired'
  readonly decidedBy: string | undefined
  readonly note: string | undefined

  constructor({ approvalId, status, decidedBy, note, sessionId, message }: { approvalId: string; status: 'denied' | 'expired'; decidedBy?: string; note?: string; sessionId?: string; message?: string }) {
    super({
      code: 'approval_denied',
      sessionId,
      message:
        message ??
        (status === 'denied'
          ? `Approval ${approvalId} was denied${decidedBy ? ` by ${decidedBy}` : ''}${note ? `: ${note}` : ''}`
          : `Approval ${approvalId} expired before anyone approved it`),
      data: { approvalId, status, decidedBy, note },
    })
    this.name = 'ApprovalDeniedError'
    this.approvalId = approvalId
    this.status = status
    this.decidedBy = decidedBy
    this.note = note
  }

  static override isInstance(error: unknown): error is ApprovalDeniedError {
    return HaldirError.hasMarker(error, marker)
  }
}
