import { auditEvents } from '../../audit/audit-events.ts'
import type { AuthorizeRequest, AuthorizeResult } from '../../backend/haldir-backend.ts'
import { decideAuthorization } from '../../policy/decide-authorization.ts'
import type { Draft } from '../draft.ts'
import type { LoadedState } from '../state-store.ts'
import { requireSession } from './require-session.ts'

/**
 * The gate, over the locked chain (the session and its ancestors): a repeat of an idempotency key
 * answers as the first time; otherwise liveness, scope and budget decide. A refusal is audited,
 * flagged; `reserve` holds the amount on every level of the chain, `charge` charges it and audits
 * the payment, `check` changes nothing.
 */
export function planAuthorize(state: LoadedState, request: AuthorizeRequest, draft: Draft<AuthorizeResult>): AuthorizeResult {
  const chain = state.sessions
  const session = requireSession(chain, request.sessionId)
  if (state.idempotency) return state.idempotency.result
  const decision = decideAuthorization({
    chain,
    mode: request.mode,
    scope: request.scope,
    amountMicros: request.amountMicros,
    now: draft.now,
  })
  let result: AuthorizeResult
  if (!decision.allowed) {
    const entry = draft.append(session, auditEvents.denied(request, decision))
    result = { allowed: false, code: decision.code, reason: decision.reason, facts: decision.facts, entry }
  } else if (request.mode === 'reserve') {
    const holdId = draft.newId('hold')
    draft.openHold({
      id: holdId,
      tenant: request.tenant,
      sessionId: request.sessionId,
      amountMicros: request.amountMicros,
      tool: request.tool,
      scope: request.scope,
      details: request.details,
      createdAt: draft.now,
      closed: null,
    })
    draft.move(chain, 0, request.amountMicros, null)
    result = { allowed: true, holdId, entry: null }
  } else if (request.mode === 'charge') {
    draft.move(chain, request.amountMicros, 0, request.tool)
    result = { allowed: true, holdId: null, entry: draft.append(session, auditEvents.charged(request)) }
  } else {
    result = { allowed: true, holdId: null, entry: null }
  }
  if (request.idempotencyKey !== null) {
    draft.remember({ tenant: request.tenant, sessionId: request.sessionId, key: request.idempotencyKey, result, createdAt: draft.now })
  }
  return result
}
