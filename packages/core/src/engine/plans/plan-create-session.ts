import { GENESIS_HASH } from '../../audit/audit-entry.ts'
import { auditEvents } from '../../audit/audit-events.ts'
import type { CreateSessionRequest, SessionControls, SessionControlsInput, SessionRecord } from '../../backend/haldir-backend.ts'
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
    controls: controlsOf(request.controls),
  }
  const session: SessionState = { record, ancestors, spentMicros: 0, reservedMicros: 0, head: { seq: 0, hash: GENESIS_HASH }, usage: null }
  draft.createSession(session)
  draft.append(session, auditEvents.sessionCreated(record))
  return record
}

/** The session's controls with their names (`window:0`, `rate:0`, `cap:0`: how events and refusals name them); none at all is `null`. */
function controlsOf(input: SessionControlsInput | null): SessionControls | null {
  if (input === null) return null
  const { windows, rateLimits, callCaps, activeHours, thresholds } = input
  if (windows.length + rateLimits.length + callCaps.length + thresholds.length === 0 && activeHours === null) return null
  return {
    windows: windows.map((window, index) => ({ ...window, id: `window:${index}` }) as SessionControls['windows'][number]),
    rateLimits: rateLimits.map((rate, index) => ({ ...rate, id: `rate:${index}` })),
    callCaps: callCaps.map((cap, index) => ({ ...cap, id: `cap:${index}` })),
    activeHours,
    thresholds: [...thresholds].sort((a, b) => a - b),
  }
}
