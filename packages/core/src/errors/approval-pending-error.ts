import { HaldirError } from './haldir-error.ts'
import { HaldirPermissionError } from './haldir-permission-error.ts'

const marker = 'haldir.error.approval_pending'
const symbol = Symbol.for(marker)

/**
 * The call waits for a person: nothing ran, and its cost is held (so nobody else can spend it)
 * until the approval is decided or times out. Go on with it once approved by passing
 * `approvalId` back (or wait with `haldir.waitForApproval(approvalId)`).
 */
export class ApprovalPendingError extends HaldirPermissionError {
  private readonly [symbol] = true
  readonly approvalId: string
  readonly holdId: string | undefined
  /** When the approval times out (ISO 8601). */
  readonly expiresAt: string | undefined

  constructor({ approvalId, holdId, expiresAt, sessionId, message }: { approvalId: string; holdId?: string; expiresAt?: string; sessionId?: string; message?: string }) {
    super({
      code: 'approval_pending',
      sessionId,
      message: message ?? `Waiting for approval ${approvalId}${expiresAt ? ` (until ${expiresAt})` : ''}; nothing ran, the cost is held`,
      data: { approvalId, holdId, expiresAt },
    })
    this.name = 'ApprovalPendingError'
    this.approvalId = approvalId
    this.holdId = holdId
    this.expiresAt = expiresAt
  }

  static override isInstance(error: unknown): error is ApprovalPendingError {
    return HaldirError.hasMarker(error, marker)
  }
}
