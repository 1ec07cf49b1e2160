import { auditEvents } from '../../audit/audit-events.ts'
import type { ReadSecretRequest } from '../../backend/haldir-backend.ts'
import { NotFoundError } from '../../errors/not-found-error.ts'
import { decideAuthorization } from '../../policy/decide-authorization.ts'
import { denialToError } from '../../policy/denial-to-error.ts'
import type { Draft } from '../draft.ts'
import type { LoadedState, StoredSecret } from '../state-store.ts'
import { requireSession } from './require-session.ts'

/**
 * A vault read over the locked chain: liveness and the secret's scope first (so a dead or
 * unscoped session learns nothing, not even whether the name exists), then the name, then
 * `open`. Every read is audited, by name, never with its value; refusals are audited and
 * then reported.
 */
export function planSecretRead(state: LoadedState, request: ReadSecretRequest, draft: Draft<string>, open: (secret: StoredSecret) => string): string {
  const session = requireSession(state.sessions, request.sessionId)
  const { secret } = state
  const scope = secret?.scopeRequired ?? null
  const audit = (outcome: 'ok' | 'denied' | 'error', reason: string | null) => draft.append(session, auditEvents.secretRead({ name: request.name, scope, outcome, reason }))
  const decision = decideAuthorization({ chain: state.sessions, mode: 'check', scope, amountMicros: 0, now: draft.now })
  if (!decision.allowed) {
    audit('denied', decision.reason)
    return draft.refuse(denialToError(decision, request.sessionId))
  }
  if (!secret) {
    audit('error', `no secret '${request.name}'`)
    return draft.refuse(new NotFoundError({ resource: 'secret', id: request.name }))
  }
  const value = open(secret)
  audit('ok', null)
  return value
}
