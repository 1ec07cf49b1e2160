import type { AuditEntry } from '../../audit/audit-entry.ts'
import { auditEvents } from '../../audit/audit-events.ts'
import type { ApprovalRecord, AuthorizeRequest, AuthorizeResult } from '../../backend/haldir-backend.ts'
import { microsToUsd } from '../../money/usd-to-micros.ts'
import type { CombinedDemand } from '../../policy/approval-demand.ts'
import type { Draft } from '../draft.ts'
import type { ApprovalState, HoldRecord, SessionState } from '../state-store.ts'
import { holdExpiry } from './hold-expiry.ts'
import { openRequestHold } from './open-request-hold.ts'

/** A hold carrying an approval, as callers see the approval. */
export function toApprovalRecord(hold: HoldRecord & { approval: ApprovalState }): ApprovalRecord {
  const { approval } = hold
  return {
    id: approval.id,
    sessionId: hold.sessionId,
    agentId: approval.agentId,
    holdId: hold.id,
    mode: approval.mode,
    tool: hold.tool,
    action: approval.action,
    scope: hold.scope,
    amountMicros: hold.amountMicros,
    reason: approval.reason,
    status: approval.status,
    requestedAt: approval.requestedAt,
    expiresAt: hold.expiresAt,
    onTimeout: approval.onTimeout,
    decidedAt: approval.decidedAt,
    decidedBy: approval.decidedBy,
    note: approval.note,
    used: approval.used,
    details: hold.details,
  }
}

/** What listeners hear of an approval: money in USD, times in ISO 8601 (the shape webhooks carry). */
function eventData(record: ApprovalRecord): Record<string, unknown> {
  return {
    approvalId: record.id,
    holdId: record.holdId,
    status: record.status,
    mode: record.mode,
    tool: record.tool,
    action: record.action,
    scope: record.scope,
    amountUsd: microsToUsd(record.amountMicros),
    reason: record.reason,
    expiresAt: new Date(record.expiresAt).toISOString(),
    decidedBy: record.decidedBy,
    note: record.note,
  }
}

/** The hold with an approval, as it stands after `update` (the loaded hold itself is never changed). */
function changed(hold: HoldRecord & { approval: ApprovalState }, expiresAt: number, approval: ApprovalState): HoldRecord & { approval: ApprovalState } {
  return { ...hold, expiresAt, approval }
}

/**
 * Sends an allowed call to a person: its cost is held on every level of the chain from now on
 * (the budget was checked as for any call), with the approval's deadline as the hold's lease.
 * Nothing runs: the answer is pending, with the approval.
 */
export function requestApproval(request: AuthorizeRequest, chain: readonly SessionState[], demand: CombinedDemand, draft: Draft<AuthorizeResult>): AuthorizeResult {
  const session = chain[0] as SessionState
  const holdId = draft.newId('hold')
  const approvalId = draft.newId('apr')
  const expiresAt = holdExpiry(chain, draft.now, demand.timeoutMs)
  const approval: ApprovalState = {
    id: approvalId,
    agentId: session.record.agentId,
    mode: request.mode === 'charge' ? 'charge' : 'reserve',
    action: request.action,
    reason: demand.reason,
    status: 'pending',
    requestedAt: draft.now,
    onTimeout: demand.onTimeout,
    holdTtlMs: request.holdTtlMs,
    decidedAt: null,
    decidedBy: null,
    note: null,
    used: false,
  }
  const hold = openRequestHold(request, chain, draft, { id: holdId, expiresAt, approval })
  const entry = draft.append(session, auditEvents.approvalRequested(request, { id: approvalId, holdId, reason: demand.reason, expiresAt }))
  const record = toApprovalRecord(hold)
  draft.emit('approval.requested', session, eventData(record))
  return pendingResult(record, entry)
}

/** The gate's answer for a call that waits. */
export function pendingResult(record: ApprovalRecord, entry: AuditEntry | null): AuthorizeResult {
  return {
    allowed: false,
    code: 'approval_pending',
    reason: `waiting for approval ${record.id}: ${record.reason}`,
    facts: { approvalId: record.id, holdId: record.holdId, expiresAt: new Date(record.expiresAt).toISOString() },
    approval: record,
    entry,
  }
}

/** Approved (by `decidedBy`, or by the timeout when `decidedBy` is `null`): the hold becomes an ordinary hold with a fresh lease. */
export function approveHold(
  hold: HoldRecord & { approval: ApprovalState },
  chain: readonly SessionState[],
  draft: Draft<unknown>,
  decision: { decidedBy: string | null; note: string | null; reason: string | null },
): HoldRecord & { approval: ApprovalState } {
  const approval: ApprovalState = { ...hold.approval, status: 'approved', decidedAt: draft.now, decidedBy: decision.decidedBy, note: decision.note }
  const expiresAt = holdExpiry(chain, draft.now, hold.approval.holdTtlMs)
  draft.updateHold({ holdId: hold.id, expiresAt, approval })
  draft.append(chain[0] as SessionState, auditEvents.approvalApproved(hold, approval, decision.reason))
  const approved = changed(hold, expiresAt, approval)
  draft.emit('approval.decided', chain[0] as SessionState, eventData(toApprovalRecord(approved)))
  return approved
}

/**
 * Not approved: denied by a person, or `expired` (nobody decided in time, the session ended, an
 * operator released it). The hold is released on every level of the chain, nothing charged.
 */
export function closeApproval(
  hold: HoldRecord & { approval: ApprovalState },
  chain: readonly SessionState[],
  draft: Draft<unknown>,
  decision: { status: 'denied' | 'expired'; decidedBy: string | null; note: string | null; reason: string },
): { record: ApprovalRecord; entry: AuditEntry } {
  // A call approved but never used keeps its approved status: its hold just ends.
  const status = hold.approval.status === 'approved' ? 'approved' : decision.status
  const approval: ApprovalState = status === 'approved' ? hold.approval : { ...hold.approval, status, decidedAt: draft.now, decidedBy: decision.decidedBy, note: decision.note }
  draft.updateHold({ holdId: hold.id, expiresAt: hold.expiresAt, approval })
  draft.move(chain, 0, -hold.amountMicros, null, hold.createdAt)
  const entry = draft.append(chain[0] as SessionState, auditEvents.approvalClosed(hold, approval, decision.status, decision.reason))
  draft.closeHold(hold.id, entry.id, 0, decision.status === 'expired')
  const record = toApprovalRecord(changed(hold, hold.expiresAt, approval))
  if (hold.approval.status === 'pending') draft.emit('approval.decided', chain[0] as SessionState, eventData(record))
  return { record, entry }
}

/** A pending approval whose time ran out: approved if every rule that asked says so, otherwise released. Returns whether money was released. */
export function timeOutApproval(hold: HoldRecord & { approval: ApprovalState }, chain: readonly SessionState[], draft: Draft<unknown>): boolean {
  const deadline = new Date(hold.expiresAt).toISOString()
  if (hold.approval.onTimeout === 'approve') {
    approveHold(hold, chain, draft, { decidedBy: null, note: null, reason: `nobody decided by ${deadline}; approved on timeout as its rules say` })
    return false
  }
  closeApproval(hold, chain, draft, { status: 'expired', decidedBy: null, note: null, reason: `nobody approved it by ${deadline}; $${microsToUsd(hold.amountMicros)} released, nothing ran` })
  return true
}

/** Whether a hold carries an approval still waiting for a person. */
export function isPending(hold: HoldRecord): hold is HoldRecord & { approval: ApprovalState } {
  return hold.approval !== null && hold.approval.status === 'pending'
}

export function hasApproval(hold: HoldRecord): hold is HoldRecord & { approval: ApprovalState } {
  return hold.approval !== null
}
