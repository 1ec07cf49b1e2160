import { type Changes, usdToMicros } from '@haldir/core/backend'
import type { Tables } from './load-statements.ts'
import { raw, sql } from './sql-text.ts'

interface SessionUpdate {
  spent: number
  reserved: number
  /** Spend by tool, for `by_tool`. */
  tools: Map<string, number>
  head: { seq: number; hash: string } | null
  revokedAt: number | null
  /** What its controls counted, whole (replaces the stored usage). */
  usage: unknown
}

/**
 * The writes of a plan's changes: inserts for new sessions, entries, holds and the idempotency
 * record, and **one** update for all touched sessions (counters, per-tool spend, audit head,
 * revocation), so a governed call updates each row once.
 */
export function applyStatements(tables: Tables, changes: Changes): string[] {
  const statements: string[] = []
  const created = new Set(changes.createdSessions.map((session) => session.record.id))
  // A session's new head is its last entry of this operation.
  const headOf = new Map(changes.entries.map((entry) => [entry.sessionId, { seq: entry.seq, hash: entry.hash }]))
  for (const { record, ancestors } of changes.createdSessions) {
    const head = headOf.get(record.id) ?? { seq: 0, hash: '' }
    statements.push(
      sql`insert into ${tables.sessions} (id, tenant, agent_id, scopes, limit_micros, created_at_ms, expires_at_ms, parent_id, ancestors, metadata, approval_rules, controls, audit_seq, audit_head)
          values (${record.id}, ${record.tenant}, ${record.agentId}, ${[...record.scopes]}, ${record.limitMicros}, ${record.createdAt}, ${record.expiresAt}, ${record.parentId},
                  ${[...ancestors]}, ${record.metadata}, ${jsonArray(record.approvalRules)}, ${record.controls}, ${head.seq}, ${head.hash})`,
    )
  }
  if (changes.entries.length > 0) {
    const { tenant } = changes
    const rows = changes.entries.map(
      (entry, index) =>
        sql`(${entry.id}, ${entry.keyId}, ${tenant}, ${entry.sessionId}, ${entry.agentId}, ${entry.seq}, ${entry.timestamp}, ${entry.tool}, ${entry.action}, ${entry.scope}, ${entry.outcome},
             ${entry.flagged}, ${entry.reason}, ${usdToMicros(entry.costUsd, 'costUsd')}, ${entry.details}, ${entry.ledger ?? null}, ${entry.prevHash}, ${entry.hash}, ${changes.leaves?.[index] ?? null})`,
    )
    statements.push(
      `insert into ${tables.audit.text} (id, key_id, tenant, session_id, agent_id, seq, timestamp, tool, action, scope, outcome, flagged, reason, cost_micros, details, ledger, prev_hash, hash, leaf_hash) values ${rows.join(', ')}`,
    )
  }
  for (const hold of changes.openedHolds) {
    statements.push(
      sql`insert into ${tables.holds} (id, tenant, session_id, root_id, amount_micros, tool, scope, details, created_at_ms, expires_at_ms, idempotency_key, approval_id, approval)
          values (${hold.id}, ${hold.tenant}, ${hold.sessionId}, ${hold.rootId}, ${hold.amountMicros}, ${hold.tool}, ${hold.scope}, ${hold.details}, ${hold.createdAt},
                  ${hold.expiresAt}, ${hold.idempotencyKey}, ${hold.approval?.id ?? null}, ${hold.approval})`,
    )
  }
  // Before closings: a hold may change (its approval decided) and close in one operation.
  for (const update of changes.updatedHolds) {
    statements.push(sql`update ${tables.holds} set expires_at_ms = ${update.expiresAt}, approval = ${update.approval} where id = ${update.holdId}`)
  }
  for (const closing of changes.closedHolds) {
    statements.push(
      sql`update ${tables.holds} set settled_entry_id = ${closing.entryId}, charged_micros = ${closing.chargedMicros}, expired = ${closing.expired} where id = ${closing.holdId}`,
    )
  }
  statements.push(...sessionUpdates(tables, changes, created, headOf))
  const remember = changes.idempotency
  if (remember) {
    // A plain insert: a concurrent first use of the key (on another session) violates the key,
    // and the store decides the request again, then seeing the record.
    statements.push(
      sql`insert into ${tables.idempotency} (tenant, key, session_id, fingerprint, result, created_at_ms)
          values (${remember.tenant}, ${remember.key}, ${remember.sessionId}, ${remember.fingerprint}, ${remember.result}, ${remember.createdAt})`,
    )
  }
  // Resealed secrets keep their values: the vault version (which masks follow) does not move.
  for (const secret of changes.secrets) {
    const { sealed } = secret
    statements.push(
      sql`update ${tables.secrets} set key_id = ${sealed.keyId}, nonce = ${sealed.nonce}, ciphertext = ${sealed.ciphertext}, tag = ${sealed.tag}, format = ${sealed.format ?? 1}
          where tenant = ${changes.tenant} and name = ${secret.name}`,
    )
  }
  return statements
}

function sessionUpdates(tables: Tables, changes: Changes, created: ReadonlySet<string>, headOf: ReadonlyMap<string, { seq: number; hash: string }>): string[] {
  const updates = new Map<string, SessionUpdate>()
  const updateOf = (sessionId: string): SessionUpdate => {
    let update = updates.get(sessionId)
    if (!update) updates.set(sessionId, (update = { spent: 0, reserved: 0, tools: new Map(), head: null, revokedAt: null, usage: null }))
    return update
  }
  for (const change of changes.counters) {
    const update = updateOf(change.sessionId)
    update.spent += change.spentMicros
    update.reserved += change.reservedMicros
    if (change.tool !== null && change.spentMicros !== 0) update.tools.set(change.tool, (update.tools.get(change.tool) ?? 0) + change.spentMicros)
  }
  for (const [sessionId, head] of headOf) if (!created.has(sessionId)) updateOf(sessionId).head = head
  for (const revocation of changes.revocations) updateOf(revocation.sessionId).revokedAt = revocation.revokedAt
  for (const change of changes.usage) updateOf(change.sessionId).usage = change.usage
  if (updates.size === 0) return []
  // One statement for every touched row; a second tool charged to the same row in one operation
  // (no plan does this today) gets a statement of its own, since one UPDATE changes a row once.
  const rows: string[] = []
  const extraTools: string[] = []
  for (const [sessionId, update] of updates) {
    const [first, ...rest] = [...update.tools]
    rows.push(
      sql`(${sessionId}, ${update.spent}::bigint, ${update.reserved}::bigint, ${first?.[0] ?? null}::text, ${first?.[1] ?? 0}::bigint, ${update.head?.seq ?? null}::bigint, ${update.head?.hash ?? null}::text, ${update.revokedAt}::bigint, ${update.usage}::jsonb)`,
    )
    for (const [tool, micros] of rest) extraTools.push(sql`update ${tables.sessions} set by_tool = ${addTool(tool, micros)} where id = ${sessionId}`)
  }
  return [
    `update ${tables.sessions.text} as s set
       spent_micros = s.spent_micros + v.spent, reserved_micros = s.reserved_micros + v.reserved,
       by_tool = case when v.tool is null then s.by_tool else jsonb_set(s.by_tool, array[v.tool], to_jsonb(coalesce((s.by_tool ->> v.tool)::bigint, 0) + v.tool_micros)) end,
       audit_seq = coalesce(v.seq, s.audit_seq), audit_head = coalesce(v.head, s.audit_head), revoked_at_ms = coalesce(v.revoked, s.revoked_at_ms),
       usage = coalesce(v.usage, s.usage)
     from (values ${rows.join(', ')}) as v(id, spent, reserved, tool, tool_micros, seq, head, revoked, usage) where s.id = v.id`,
    ...extraTools,
  ]
}

// An array is a Postgres array to the query text; rules are stored as one JSON array.
function jsonArray(value: readonly unknown[]) {
  return raw(sql`${JSON.stringify(value)}::jsonb`)
}

function addTool(tool: string, micros: number) {
  return raw(sql`jsonb_set(by_tool, array[${tool}], to_jsonb(coalesce((by_tool ->> ${tool})::bigint, 0) + ${micros}))`)
}
