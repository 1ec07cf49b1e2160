import { auditEvents } from '../../audit/audit-events.ts'
import type { AuthorizeRequest, AuthorizeResult } from '../../backend/haldir-backend.ts'
import { ApprovalError } from '../../errors/approval-error.ts'
import { HoldExpiredError } from '../../errors/hold-expired-error.ts'
import { NotFoundError } from '../../errors/not-found-error.ts'
import { decideAuthorization } from '../../policy/decide-authorization.ts'
import type { Draft } from '../draft.ts'
import type { ApprovalState, HoldRecord, SessionState } from '../state-store.ts'
import { approveHold, closeApproval, hasApproval, pendingResult, toApprovalRecord } from './approval-steps.ts'
import { expireHold } from './release-expired-holds.ts'

/**
 * A call going on with its approval, over the locked chain and the approval's hold. Only the
 * call that was sent to a person may go on (same session, mode, tool, scope and amount), only
 * while its session is live, and only once: approved and unused, it is let through on the money
 * held since the request (`reserve`: the hold is the call's; `charge`: the payment is charged
 * now). Still pending, it answers pending again; denied or expired, it is refused (audited).
 */
export function planGoOnApproval(hold: HoldRecord | null, approvalId: string, request: AuthorizeRequest, chain: readonly SessionState[], draft: Draft<AuthorizeResult>): AuthorizeResult {
  const session = chain[0] as SessionState
  if (!hold || !hasApproval(hold) || hold.approval.id !== approvalId || hold.sessionId !== request.sessionId) {
    throw new NotFoundError({ resource: 'approval', id: approvalId, message: `No approval '${approvalId}' for session '${request.sessionId}'` })
  }
  if (request.mode !== hold.approval.mode || request.tool !== hold.tool || request.scope !== hold.scope || request.amountMicros !== hold.amountMicros) {
    throw new ApprovalError({
      code: 'approval_mismatch',
      approvalId,
      message: `Approval ${approvalId} is for ${hold.approval.mode} of '${hold.tool}'${hold.scope ? ` (scope '${hold.scope}')` : ''} at ${hold.amountMicros} micro-dollars; this is another call`,
      data: { mode: hold.approval.mode, tool: hold.tool, scope: hold.scope, amountMicros: hold.amountMicros },
    })
  }
  const live = decideAuthorization({ chain, mode: 'check', scope: request.scope, amountMicros: 0, now: draft.now })
  if (!live.allowed) {
    const entry = draft.append(session, auditEvents.denied(request, live))
    draft.emit('call.denied', session, { code: live.code, reason: live.reason, tool: request.tool, scope: request.scope, approvalId })
    return { allowed: false, code: live.code, reason: live.reason, facts: live.facts, entry }
  }
  let current: HoldRecord & { approval: ApprovalState } = hold
  if (current.approval.status === 'pending') {
    if (current.expiresAt > draft.now) return pendingResult(toApprovalRecord(current), null)
    // Its time ran out just now: the timeout decides before the call learns the answer.
    if (current.approval.onTimeout === 'approve') {
      current = approveHold(current, chain, draft, { decidedBy: null, note: null, reason: `nobody decided by ${new Date(current.expiresAt).toISOString()}; approved on timeout as its rules say` })
    } else {
      const { record, entry } = closeApproval(current, chain, draft, {
        status: 'expired',
        decidedBy: null,
        note: null,
        reason: `nobody approved it by ${new Date(current.expiresAt).toISOString()}; released, nothing ran`,
      })
      return { allowed: false, code: 'approval_denied', reason: `approval ${approvalId} expired before anyone approved it`, facts: { approvalId, status: record.status }, entry }
    }
  }
  const { approval } = current
  if (approval.status === 'denied' || approval.status === 'expired') {
    const reason =
      approval.status === 'denied'
        ? `approval ${approvalId} was denied${approval.decidedBy ? ` by ${approval.decidedBy}` : ''}${approval.note ? `: ${approval.note}` : ''}`
        : `approval ${approvalId} expired before anyone approved it`
    const facts = { approvalId, status: approval.status, decidedBy: approval.decidedBy, note: approval.note }
    const entry = draft.append(session, auditEvents.denied(request, { allowed: false, code: 'approval_denied', reason, facts }))
    return { allowed: false, code: 'approval_denied', reason, facts, entry }
  }
  if (approval.used) {
    draft.append(session, auditEvents.replayRefused(request, `approval ${approvalId} was already used: its call went on once and does not run again`))
    return draft.refuse(new ApprovalError({ code: 'approval_used', approvalId, message: `Approval ${approvalId} was already used; its call does not run again` }))
  }
  if (current.closed !== null) throw new HoldExpiredError({ holdId: current.id, expiresAt: new Date(current.expiresAt).toISOString() })
  if (current.expiresAt <= draft.now) {
    expireHold(current, chain, draft)
    return draft.refuse(new HoldExpiredError({ holdId: current.id, expiresAt: new Date(current.expiresAt).toISOString() }))
  }
  draft.updateHold({ holdId: current.id, expiresAt: current.expiresAt, approval: { ...approval, used: true } })
  if (approval.mode === 'reserve') return { allowed: true, holdId: current.id, entry: null }
  draft.move(chain, current.amountMicros, -current.amountMicros, current.tool, current.createdAt)
  const entry = draft.append(session, auditEvents.approvedCharge(current, request, approvalId))
  draft.closeHold(current.id, entry.id, current.amountMicros, false)
  return { allowed: true, holdId: null, entry }
}
