import { auditEvents } from '../../audit/audit-events.ts'
import type { RevokeRequest, RevokeResult } from '../../backend/haldir-backend.ts'
import type { Draft } from '../draft.ts'
import type { LoadedState } from '../state-store.ts'
import { requireSession } from './require-session.ts'

/** Revokes the session and every descendant not yet revoked, auditing each on its own chain. */
export function planRevoke(state: LoadedState, request: RevokeRequest, draft: Draft<RevokeResult>): RevokeResult {
  requireSession(state.sessions, request.sessionId)
  const revoked: string[] = []
  for (const session of state.sessions) {
    if (session.record.revokedAt !== null) continue
    draft.revoke(session.record.id)
    const entry = draft.append(session, auditEvents.revoked({ sessionId: session.record.id, revokedBy: request.sessionId, reason: request.reason }))
    draft.emit('session.revoked', session, { revokedBy: request.sessionId, reason: entry.reason })
    revoked.push(session.record.id)
  }
  return { revokedSessionIds: revoked }
}
