import { HaldirError } from './haldir-error.ts'

const marker = 'haldir.error.approval'
const symbol = Symbol.for(marker)

export type ApprovalErrorCode = 'approval_decided' | 'approval_used' | 'approval_mismatch'

/**
 * An approval cannot do what was asked of it. Nothing changed (beyond what the refusal audits).
 *
 * - `approval_decided`: it is decided already (another approver won, or it timed out): a decision is final.
 * - `approval_used`: its call already went through once; it does not run twice.
 * - `approval_mismatch`: the call going on with it is not the call that was approved (another
 *   session, tool, scope, mode or amount).
 */
export class ApprovalError extends HaldirError {
  private readonly [symbol] = true
  readonly approvalId: string

  constructor({ code, approvalId, message, data }: { code: ApprovalErrorCode; approvalId: string; message: string; data?: Record<string, unknown> }) {
    super({ code, message, data: { ...data, approvalId } })
    this.name = 'ApprovalError'
    this.approvalId = approvalId
  }

  static override isInstance(error: unknown): error is ApprovalError {
    return HaldirError.hasMarker(error, marker)
  }
}
