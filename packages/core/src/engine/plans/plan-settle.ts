import { auditEvents } from '../../audit/audit-events.ts'
import type { SettleRequest, SettleResult } from '../../backend/haldir-backend.ts'
import { ApprovalDeniedError } from '../../errors/approval-denied-error.ts'
import { ApprovalPendingError } from '../../errors/approval-pending-error.ts'
import { BackendError } from '../../errors/backend-error.ts'
import { HoldExpiredError } from '../../errors/hold-expired-error.ts'
import { NotFoundError } from '../../errors/not-found-error.ts'
import { checkSettleAmount } from '../../policy/check-settle-amount.ts'
import type { Draft } from '../draft.ts'
import type { HoldRecord, LoadedState, SessionState } from '../state-store.ts'
import { expireHold, releaseExpiredHolds } from './release-expired-holds.ts'
import { requireSession } from './require-session.ts'
import { moveHold, SLICE_SHORT } from '../slices.ts'

/**
 * Closes a hold over its locked chain: charges up to what it holds (more is a `ValidationError`
 * and leaves it open), releases the rest from every level, and audits the call with the gate's
 * details merged with the settle's. A hold settles once: settling it again answers with the
 * entry that closed it. A hold whose lease ended is released (audited, flagged) and the settle
 * refused with `HoldExpiredError`: nothing is charged after a lease.
 */
export function planSettle(state: LoadedState, request: SettleRequest, draft: Draft<SettleResult>): SettleResult {
  return settleHold(state, request, draft, true)
}

/**
 * {@link planSettle} with the session's row alone locked (`lock: 'session'`): a hold drawn from
 * the session's slice settles there; any other must move its ancestors, so it goes the locked
 * chain's way (`SliceMiss`, nothing applied).
 */
export function planSettleInSlice(state: LoadedState, request: SettleRequest, draft: Draft<SettleResult>): SettleResult {
  return settleHold(state, request, draft, false)
}

function settleHold(state: LoadedState, request: SettleRequest, draft: Draft<SettleResult>, chainLocked: boolean): SettleResult {
  const { hold } = state
  if (!chainLocked && hold !== null && hold.closed === null && hold.sliced !== true && state.sessions.length > 1) throw SLICE_SHORT
  if (!hold || hold.sessionId !== request.sessionId) throw new NotFoundError({ resource: 'hold', id: request.holdId })
  // A hold opened for an approval settles only once approved: there is no call to settle before.
  if (hold.approval !== null && hold.approval.status !== 'approved') {
    const { approval } = hold
    if (approval.status === 'pending') {
      throw new ApprovalPendingError({ approvalId: approval.id, holdId: hold.id, sessionId: hold.sessionId, expiresAt: new Date(hold.expiresAt).toISOString() })
    }
    throw new ApprovalDeniedError({ approvalId: approval.id, status: approval.status as 'denied' | 'expired', sessionId: hold.sessionId, decidedBy: approval.decidedBy ?? undefined, note: approval.note ?? undefined })
  }
  if (hold.closed) {
    if (hold.closed.expired) throw expiredError(hold)
    if (!state.closingEntry) throw new BackendError({ message: `hold ${hold.id} is closed but its entry ${hold.closed.entryId} is missing` })
    return { entry: state.closingEntry, chargedMicros: hold.closed.chargedMicros }
  }
  const chain = state.sessions
  requireSession(chain, request.sessionId)
  // Other holds of the chain whose lease ended go first; this one's own lease is judged below.
  releaseExpiredHolds(state.expiredHolds, draft, hold.id)
  if (hold.expiresAt <= draft.now) {
    expireHold(hold, chain, draft)
    return draft.refuse(expiredError(hold))
  }
  checkSettleAmount(request.amountMicros, hold.amountMicros)
  moveHold(draft, hold, chain, request.amountMicros, hold.tool)
  const entry = draft.append(chain[0] as SessionState, auditEvents.settled(hold, request))
  draft.closeHold(hold.id, entry.id, request.amountMicros, false)
  return { entry, chargedMicros: request.amountMicros }
}

function expiredError(hold: HoldRecord): HoldExpiredError {
  return new HoldExpiredError({ holdId: hold.id, expiresAt: new Date(hold.expiresAt).toISOString() })
}
