import type { AuditEntry } from '../../audit/audit-entry.ts'
import { auditEvents } from '../../audit/audit-events.ts'
import type { ReleaseHoldRequest } from '../../backend/haldir-backend.ts'
import { NotFoundError } from '../../errors/not-found-error.ts'
import type { Draft } from '../draft.ts'
import type { LoadedState, SessionState } from '../state-store.ts'
import { closeApproval, hasApproval } from './approval-steps.ts'
import { endLease, expireHold } from './release-expired-holds.ts'
import { moveHold } from '../slices.ts'

/**
 * An operator releases an open hold over its locked chain: nothing charged, audited and flagged
 * on the hold's session. A hold waiting for approval (or approved and not yet used) is closed as
 * `expired`: nobody can approve or use it after.
 */
export function planReleaseHold(state: LoadedState, request: ReleaseHoldRequest, draft: Draft<AuditEntry>): AuditEntry {
  const { hold } = state
  const chain = state.sessions
  if (!hold || hold.closed || chain[0]?.record.id !== hold.sessionId) throw new NotFoundError({ resource: 'hold', id: request.holdId, message: `No open hold '${request.holdId}'` })
  if (hasApproval(hold)) {
    return closeApproval(hold, chain, draft, { status: 'expired', decidedBy: null, note: request.reason, reason: request.reason ?? 'released by an operator' }).entry
  }
  // A hold past its lease is expired, whoever notices first.
  if (hold.expiresAt <= draft.now) return expireHold(hold, chain, draft)
  moveHold(draft, hold, chain, 0, null)
  const entry = draft.append(chain[0] as SessionState, auditEvents.holdReleased(hold, request.reason))
  draft.closeHold(hold.id, entry.id, 0, false)
  return entry
}

/**
 * The sweep, for one hold over its locked chain: if it is still open and its lease ended, it is
 * released (a pending approval times out as its rules say). Whether money was released.
 */
export function planExpireHold(state: LoadedState, _request: { holdId: string }, draft: Draft<boolean>): boolean {
  const { hold } = state
  const chain = state.sessions
  if (!hold || hold.closed || hold.expiresAt > draft.now || chain[0]?.record.id !== hold.sessionId) return false
  return endLease(hold, chain, draft)
}
