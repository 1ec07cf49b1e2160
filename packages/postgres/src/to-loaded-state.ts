import type { ExpiredHold, HoldRecord, IdempotencyRecord, LoadedState, LoadRequest, SessionState, StoredSecret } from '@haldir/core/backend'
import { ENTRY_PREFIX, HOLD_PREFIX, type LoadPart } from './load-statements.ts'
import { type AuditRow, type HoldRow, type SessionRow, toAuditEntry, toHoldRecord, toSessionState } from './rows.ts'

export interface SecretRow {
  name: string
  key_id: string
  nonce: string
  ciphertext: string
  tag: string
  scope_required: string | null
  format: number
}

export function toStoredSecret(row: SecretRow): StoredSecret {
  return {
    name: row.name,
    sealed: { keyId: row.key_id, nonce: row.nonce, ciphertext: row.ciphertext, tag: row.tag, format: row.format === 2 ? 2 : 1 },
    scopeRequired: row.scope_required,
  }
}

/** Picks the prefixed columns of a joined row back out as a row of their own. */
function unprefix(row: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(row)) if (column.startsWith(prefix)) out[column.slice(prefix.length)] = value
  return out
}

/** Puts the loaded rows in the shapes the engine expects: a chain session-first, a subtree parents-first. */
export function toLoadedState(request: LoadRequest, rowsOf: (part: LoadPart) => Record<string, unknown>[]): LoadedState {
  const sessionRows = rowsOf('sessions') as unknown as SessionRow[]
  const states = new Map(sessionRows.map((row) => [row.id, toSessionState(row)]))
  for (const row of rowsOf('ancestors') as unknown as SessionRow[]) if (!states.has(row.id)) states.set(row.id, toSessionState(row))
  const chainOf = (sessionId: string): SessionState[] | null => {
    const own = states.get(sessionId)
    if (!own) return null
    const chain: SessionState[] = [own]
    for (const id of own.ancestors) {
      const link = states.get(id)
      if (!link) return null
      chain.push(link)
    }
    return chain
  }
  let sessions: SessionState[] = []
  if (request.sessionId !== undefined && states.has(request.sessionId)) {
    if (request.sessions === 'chain') sessions = chainOf(request.sessionId) ?? []
    else sessions = [...states.values()].sort((a, b) => a.ancestors.length - b.ancestors.length)
  }
  const expiredHolds: ExpiredHold[] = []
  for (const row of rowsOf('expiredHolds') as unknown as HoldRow[]) {
    const chain = chainOf(row.session_id)
    // A hold whose chain is not all locked here is left for the next decision.
    if (chain) expiredHolds.push({ hold: toHoldRecord(row), chain })
  }
  const holdRow = rowsOf('hold')[0]
  let hold: HoldRecord | null = null
  let closingEntry = null
  if (holdRow) {
    hold = toHoldRecord(holdRow as unknown as HoldRow)
    if (holdRow[`${ENTRY_PREFIX}id`]) closingEntry = toAuditEntry(unprefix(holdRow, ENTRY_PREFIX) as unknown as AuditRow)
  }
  const idempotencyRow = rowsOf('idempotency')[0] as
    | ({ tenant: string; key: string; session_id: string; fingerprint: string; result: IdempotencyRecord['result']; created_at_ms: string } & Record<string, unknown>)
    | undefined
  const idempotency: IdempotencyRecord | null = idempotencyRow
    ? {
        tenant: idempotencyRow.tenant,
        key: idempotencyRow.key,
        sessionId: idempotencyRow.session_id,
        fingerprint: idempotencyRow.fingerprint,
        result: idempotencyRow.result,
        createdAt: Number(idempotencyRow.created_at_ms),
      }
    : null
  const idempotencyHold = idempotencyRow?.[`${HOLD_PREFIX}id`] ? toHoldRecord(unprefix(idempotencyRow, HOLD_PREFIX) as unknown as HoldRow) : null
  const secretRow = rowsOf('secret')[0] as SecretRow | undefined
  const version = rowsOf('configVersion')[0] as { version: string } | undefined
  return {
    sessions,
    hold,
    closingEntry,
    idempotency,
    idempotencyHold,
    secret: secretRow ? toStoredSecret(secretRow) : null,
    expiredHolds,
    configVersion: version ? String(version.version) : null,
  }
}
