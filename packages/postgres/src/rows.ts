import { type ApprovalRuleRecord, type ApprovalState, type AuditEntry, type HoldRecord, microsToUsd, type SessionControls, type SessionRecord, type SessionState, type SessionUsage, type SliceState } from '@haldir/core/backend'

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
  approval_rules: ApprovalRuleRecord[]
  controls: SessionControls | null
  usage: SessionUsage | null
  /** Absent from the lock queries, which do not need it. */
  metadata?: Record<string, unknown>
  by_tool?: Record<string, number>
  audit_seq: string
  audit_head: string
  slice_free_micros: string
  slice_spent_micros: string
  slice_by_tool: Record<string, number>
  held_micros: string
}

export interface AuditRow {
  id: string
  key_id: string
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
  ledger: AuditEntry['ledger'] | null
  prev_hash: string
  hash: string
}

export interface HoldRow {
  id: string
  tenant: string
  session_id: string
  amount_micros: string
  tool: string
  scope: string | null
  details: Record<string, unknown>
  created_at_ms: string
  root_id: string
  expires_at_ms: string
  idempotency_key: string | null
  expired: boolean
  settled_entry_id: string | null
  charged_micros: string | null
  approval: ApprovalState | null
  sliced?: boolean
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
    approvalRules: row.approval_rules ?? [],
    controls: row.controls ?? null,
  }
}

export function toSessionState(row: SessionRow): SessionState {
  return {
    record: toSessionRecord(row),
    ancestors: row.ancestors,
    spentMicros: num(row.spent_micros),
    reservedMicros: num(row.reserved_micros),
    head: { seq: num(row.audit_seq), hash: row.audit_head },
    usage: row.usage ?? null,
    slice: toSliceState(row),
  }
}

/** The row's slice; `null` when it holds none and none of its descendants' (most rows). */
function toSliceState(row: SessionRow): SliceState | null {
  const freeMicros = num(row.slice_free_micros ?? 0)
  const spentMicros = num(row.slice_spent_micros ?? 0)
  const heldMicros = num(row.held_micros ?? 0)
  if (freeMicros === 0 && spentMicros === 0 && heldMicros === 0) return null
  return { freeMicros, spentMicros, byTool: row.slice_by_tool ?? {}, heldMicros }
}

export function toHoldRecord(row: HoldRow): HoldRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    sessionId: row.session_id,
    amountMicros: num(row.amount_micros),
    tool: row.tool,
    scope: row.scope,
    details: row.details,
    rootId: row.root_id,
    createdAt: num(row.created_at_ms),
    expiresAt: num(row.expires_at_ms),
    idempotencyKey: row.idempotency_key,
    closed: row.settled_entry_id === null ? null : { entryId: row.settled_entry_id, chargedMicros: num(row.charged_micros ?? 0), expired: row.expired },
    approval: row.approval ?? null,
    sliced: row.sliced === true,
  }
}

/** Money is stored as micro-dollars; `microsToUsd` gives back exactly the number that was hashed. */
export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    keyId: row.key_id,
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
    costUsd: microsToUsd(num(row.cost_micros)),
    details: row.details,
    ...(row.ledger ? { ledger: row.ledger } : {}),
    prevHash: row.prev_hash,
    hash: row.hash,
  }
}

export const AUDIT_COLUMNS = 'id, key_id, session_id, agent_id, seq, timestamp, tool, action, scope, outcome, flagged, reason, cost_micros, details, ledger, prev_hash, hash'
/** What a decision needs of each locked session; metadata and per-tool totals stay in the table. */
export const STATE_COLUMNS =
  'id, tenant, agent_id, scopes, limit_micros, spent_micros, reserved_micros, created_at_ms, expires_at_ms, parent_id, ancestors, revoked_at_ms, approval_rules, controls, usage, audit_seq, audit_head, slice_free_micros, slice_spent_micros, slice_by_tool, held_micros'
