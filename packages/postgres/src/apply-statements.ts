import { applySliceChange, type Changes, type SliceState, usdToMicros } from '@haldir/core/backend'
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
  /** Its slice's moves summed as deltas (`null`: none), the slice's spend by tool with them. */
  slice: SliceState | null
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
    const { entries } = changes
    const column = <T>(pick: (entry: (typeof entries)[number], index: number) => T) => entries.map(pick)
    statements.push(
      tables.prepared.insertEntries(changes.tenant, [
        column((entry) => entry.id),
        column((entry) => entry.keyId),
        column((entry) => entry.sessionId),
        column((entry) => entry.agentId),
        column((entry) => entry.seq),
        column((entry) => entry.timestamp),
        column((entry) => entry.tool),
        column((entry) => entry.action),
        column((entry) => entry.scope),
        column((entry) => entry.outcome),
        column((entry) => entry.flagged),
        column((entry) => entry.reason),
        column((entry) => usdToMicros(entry.costUsd, 'costUsd')),
        column((entry) => entry.details),
        column((entry) => entry.ledger ?? null),
        column((entry) => entry.prevHash),
        column((entry) => entry.hash),
        column((_, index) => changes.leaves?.[index] ?? null),
      ]),
    )
  }
  const opened = changes.openedHolds
  if (opened.length > 0) {
    const column = <T>(pick: (hold: (typeof opened)[number]) => T) => opened.map(pick)
    statements.push(
      tables.prepared.insertHolds([
        column((hold) => hold.id),
        column((hold) => hold.tenant),
        column((hold) => hold.sessionId),
        column((hold) => hold.rootId),
        column((hold) => hold.amountMicros),
        column((hold) => hold.tool),
        column((hold) => hold.scope),
        column((hold) => hold.details),
        column((hold) => hold.createdAt),
        column((hold) => hold.expiresAt),
        column((hold) => hold.idempotencyKey),
        column((hold) => hold.approval?.id ?? null),
        column((hold) => hold.approval),
        column((hold) => hold.sliced === true),
      ]),
    )
  }
  // Before closings: a hold may change (its approval decided) and close in one operation.
  for (const update of changes.updatedHolds) {
    statements.push(sql`update ${tables.holds} set expires_at_ms = ${update.expiresAt}, approval = ${update.approval} where id = ${update.holdId}`)
  }
  const closed = changes.closedHolds
  if (closed.length > 0) {
    statements.push(
      tables.prepared.closeHolds([closed.map((closing) => closing.holdId), closed.map((closing) => closing.entryId), closed.map((closing) => closing.chargedMicros), closed.map((closing) => closing.expired)]),
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
    if (!update) updates.set(sessionId, (update = { spent: 0, reserved: 0, tools: new Map(), head: null, revokedAt: null, usage: null, slice: null }))
    return update
  }
  for (const change of changes.counters) {
    const update = updateOf(change.sessionId)
    update.spent += change.spentMicros
    update.reserved += change.reservedMicros
    if (change.tool !== null && change.spentMicros !== 0) update.tools.set(change.tool, (update.tools.get(change.tool) ?? 0) + change.spentMicros)
    if (change.slice !== undefined) applySliceChange((update.slice ??= { freeMicros: 0, spentMicros: 0, byTool: {}, heldMicros: 0 }), change)
  }
  for (const [sessionId, head] of headOf) if (!created.has(sessionId)) updateOf(sessionId).head = head
  for (const revocation of changes.revocations) updateOf(revocation.sessionId).revokedAt = revocation.revokedAt
  for (const change of changes.usage) updateOf(change.sessionId).usage = change.usage
  if (updates.size === 0) return []
  // One statement for every touched row; a second tool charged to the same row in one operation
  // (no plan does this today) gets a statement of its own, since one UPDATE changes a row once.
  const columns: unknown[][] = Array.from({ length: 13 }, () => [])
  const extraTools: string[] = []
  for (const [sessionId, update] of updates) {
    const [first, ...rest] = [...update.tools]
    const { slice } = update
    const row = [
      sessionId,
      update.spent,
      update.reserved,
      first?.[0] ?? null,
      first?.[1] ?? 0,
      update.head?.seq ?? null,
      update.head?.hash ?? null,
      update.revokedAt,
      update.usage,
      slice?.freeMicros ?? 0,
      slice?.spentMicros ?? 0,
      slice?.heldMicros ?? 0,
      slice !== null && Object.keys(slice.byTool).length > 0 ? slice.byTool : null,
    ]
    row.forEach((value, index) => columns[index]?.push(value))
    for (const [tool, micros] of rest) extraTools.push(sql`update ${tables.sessions} set by_tool = ${addTool(tool, micros)} where id = ${sessionId}`)
  }
  return [tables.prepared.updateSessions(columns), ...extraTools]
}

// An array is a Postgres array to the query text; rules are stored as one JSON array.
function jsonArray(value: readonly unknown[]) {
  return raw(sql`${JSON.stringify(value)}::jsonb`)
}

function addTool(tool: string, micros: number) {
  return raw(sql`jsonb_set(by_tool, array[${tool}], to_jsonb(coalesce((by_tool ->> ${tool})::bigint, 0) + ${micros}))`)
}
