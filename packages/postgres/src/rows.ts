import type { AuditEntry, SessionRecord } from '@haldir/core'

/** A `sessions` row as pg returns it (bigint columns arrive as strings). */
export interface SessionRow {
  id: string
  tenant: string
  agent_id: string
  scopes: string[]
  limit_micros: string | null
  spent_micros: string
  reserved_micros: string
  created_at_ms: string
  expires_at_ms: string
  parent_id: string | null
  ancestors: string[]
  revoked_at_ms: string | null
  /** Absent from the gate's lock query, which does not need it. */
  metadata?: Record<string, unknown>
  by_tool?: Record<string, number>
  audit_seq: string
  audit_head: string
}

export interface AuditRow {
  id: string
  session_id: string
  agent_id: string
  seq: string
  timestamp: string
  tool: string
  action: string
  scope: string | null
  outcome: AuditEntry['outcome']
  flagged: boolean
  reason: string | null
  cost_micros: string
  details: Record<string, unknown>
  prev_hash: string
  hash: string
}

const num = (value: string | number): number => (typeof value === 'number' ? value : Number(value))

export function toSessionRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    agentId: row.agent_id,
    scopes: row.scopes,
    limitMicros: row.limit_micros === null ? null : num(row.limit_micros),
    createdAt: num(row.created_at_ms),
    expiresAt: num(row.expires_at_ms),
    parentId: row.parent_id,
    revokedAt: row.revoked_at_ms === null ? null : num(row.revoked_at_ms),
    metadata: row.metadata ?? {},
  }
}

/** Money is stored as micro-dollars; `micros / 1e6` gives back exactly the number that was hashed. */
export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    sessionId: row.session_id,
    agentId: row.agent_id,
    seq: num(row.seq),
    timestamp: row.timestamp,
    tool: row.tool,
    action: row.action,
    scope: row.scope,
    outcome: row.outcome,
    flagged: row.flagged,
    reason: row.reason,
    costUsd: num(row.cost_micros) / 1_000_000,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  }
}

export const AUDIT_COLUMNS = 'id, session_id, agent_id, seq, timestamp, tool, action, scope, outcome, flagged, reason, cost_micros, details, prev_hash, hash'
