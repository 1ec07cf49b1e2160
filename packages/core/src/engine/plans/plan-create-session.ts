import { GENESIS_HASH } from '../../audit/audit-entry.ts'
import { auditEvents } from '../../audit/audit-events.ts'
import type { CreateSessionRequest, SessionRecord } from '../../backend/haldir-backend.ts'
import { planChildSession } from '../../policy/plan-child-session.ts'
import type { Draft } from '../draft.ts'
import type { LoadedState, SessionState } from '../state-store.ts'
import { requireSession } from './require-session.ts'

/**
 * A root session, or a child under the locked chain of its parent (attenuated: covered scopes,
 * a live parent, an expiry clamped to the parent's). Its first entry is `session.create`.
 */
export function planCreateSession(state: LoadedState, request: CreateSessionRequest, draft: Draft<SessionRecord>): SessionRecord {
  const { now } = draft
  let expiresAt = now + request.ttlMs
  let ancestors: string[] = []
  if (request.parentId !== null) {
    const parentChain = state.sessions
    requireSession(parentChain, request.parentId)
    expiresAt = planChildSession({ parentChain, scopes: request.scopes, expiresAt, now }).expiresAt
    ancestors = parentChain.map((link) => link.record.id)
  }
  const record: SessionRecord = {
    id: draft.newId('ses'),
    tenant: request.tenant,
    agentId: request.agentId,
    scopes: [...request.scopes],
    limitMicros: request.limitMicros,
    createdAt: now,
    expiresAt,
    parentId: request.parentId,
    revokedAt: null,
    metadata: request.metadata,
    // A child's own rules; its ancestors' apply too (they are read over the chain at each call).
    approvalRules: request.approvalRules.map((rule) => ({ ...rule, id: draft.newId('rul') })),
  }
  const session: SessionState = { record, ancestors, spentMicros: 0, reservedMicros: 0, head: { seq: 0, hash: GENESIS_HASH } }
  draft.createSession(session)
  draft.append(session, auditEvents.sessionCreated(record))
  return record
}
