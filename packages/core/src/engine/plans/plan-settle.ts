import { auditEvents } from '../../audit/audit-events.ts'
import type { SettleRequest, SettleResult } from '../../backend/haldir-backend.ts'
import { BackendError } from '../../errors/backend-error.ts'
import { NotFoundError } from '../../errors/not-found-error.ts'
import { checkSettleAmount } from '../../policy/check-settle-amount.ts'
import type { Draft } from '../draft.ts'
import type { LoadedState } from '../state-store.ts'
import { requireSession } from './require-session.ts'

/**
 * Closes a hold over its locked chain: charges up to what it holds (more is a `ValidationError`
 * and leaves it open), releases the rest from every level, and audits the call with the gate's
 * details merged with the settle's. A hold settles once: settling it again answers with the
 * entry that closed it.
 */
export function planSettle(state: LoadedState, request: SettleRequest, draft: Draft<SettleResult>): SettleResult {
  const { hold } = state
  if (!hold || hold.sessionId !== request.sessionId) throw new NotFoundError({ resource: 'hold', id: request.holdId })
  if (hold.closed) {
    if (!state.closingEntry) throw new BackendError({ message: `hold ${hold.id} is closed but its entry ${hold.closed.entryId} is missing` })
    return { entry: state.closingEntry, chargedMicros: hold.closed.chargedMicros }
  }
  checkSettleAmount(request.amountMicros, hold.amountMicros)
  const chain = state.sessions
  const session = requireSession(chain, request.sessionId)
  draft.move(chain, request.amountMicros, -hold.amountMicros, hold.tool)
  const entry = draft.append(session, auditEvents.settled(hold, request))
  draft.closeHold(hold.id, entry.id, request.amountMicros)
  return { entry, chargedMicros: request.amountMicros }
}
