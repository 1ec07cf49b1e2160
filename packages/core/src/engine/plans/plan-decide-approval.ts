import type { ApprovalRecord, DecideApprovalRequest } from '../../backend/haldir-backend.ts'
import { ApprovalError } from '../../errors/approval-error.ts'
import { ForbiddenError } from '../../errors/forbidden-error.ts'
import { NotFoundError } from '../../errors/not-found-error.ts'
import { decideAuthorization } from '../../policy/decide-authorization.ts'
import { denialToError } from '../../policy/denial-to-error.ts'
import type { Draft } from '../draft.ts'
import type { LoadedState } from '../state-store.ts'
import { approveHold, closeApproval, hasApproval, timeOutApproval, toApprovalRecord } from './approval-steps.ts'

/**
 * A person's decision over the approval's hold and its locked chain: final and atomic. The
 * first decider wins; whoever comes after (another approver, or anyone once the deadline
 * passed, which the timeout decides first) gets `ApprovalError` (`approval_decided`). The agent
 * whose call it is cannot decide it. Approving a call whose session is no longer live closes it
 * as expired and refuses with the liveness error: nothing can run for a dead session.
 */
export function planDecideApproval(state: LoadedState, request: DecideApprovalRequest, draft: Draft<ApprovalRecord>): ApprovalRecord {
  const { hold } = state
  const chain = state.sessions
  if (!hold || !hasApproval(hold) || hold.approval.id !== request.approvalId || chain[0]?.record.id !== hold.sessionId) {
    throw new NotFoundError({ resource: 'approval', id: request.approvalId })
  }
  if (request.decidedBy === hold.approval.agentId) {
    throw new ForbiddenError({
      operation: 'decideApproval',
      message: `'${request.decidedBy}' is the agent whose call approval ${request.approvalId} is for; an agent cannot decide its own request`,
    })
  }
  const decided = (status: string, by: string | null) =>
    new ApprovalError({
      code: 'approval_decided',
      approvalId: request.approvalId,
      message: `Approval ${request.approvalId} is already ${status}${by ? ` by ${by}` : ''}; a decision is final`,
      data: { status, decidedBy: by },
    })
  if (hold.approval.status !== 'pending') throw decided(hold.approval.status, hold.approval.decidedBy)
  if (hold.expiresAt <= draft.now) {
    timeOutApproval(hold, chain, draft)
    return draft.refuse(decided(hold.approval.onTimeout === 'approve' ? 'approved (on timeout)' : 'expired', null))
  }
  const live = decideAuthorization({ chain, mode: 'check', scope: null, amountMicros: 0, now: draft.now })
  if (!live.allowed) {
    closeApproval(hold, chain, draft, { status: 'expired', decidedBy: null, note: null, reason: `${live.reason}; the approval closes, nothing ran` })
    return draft.refuse(denialToError(live, hold.sessionId))
  }
  if (request.decision === 'approve') {
    return toApprovalRecord(approveHold(hold, chain, draft, { decidedBy: request.decidedBy, note: request.note, reason: request.note }))
  }
  const reason = `denied by ${request.decidedBy}${request.note ? `: ${request.note}` : ''}`
  return closeApproval(hold, chain, draft, { status: 'denied', decidedBy: request.decidedBy, note: request.note, reason }).record
}
