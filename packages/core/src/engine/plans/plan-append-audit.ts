import type { AuditEntry } from '../../audit/audit-entry.ts'
import { auditEvents } from '../../audit/audit-events.ts'
import type { AppendAuditRequest } from '../../backend/haldir-backend.ts'
import type { Draft } from '../draft.ts'
import type { LoadedState } from '../state-store.ts'
import { requireSession } from './require-session.ts'

/** An entry written by `logAction`: recorded on the session's chain, nothing charged. */
export function planAppendAudit(state: LoadedState, request: AppendAuditRequest, draft: Draft<AuditEntry>): AuditEntry {
  const session = requireSession(state.sessions, request.sessionId)
  return draft.append(session, auditEvents.logged(request))
}
