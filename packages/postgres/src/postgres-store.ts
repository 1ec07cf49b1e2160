import type { AuditPage, HoldRecord, IdempotencyRecord, LoadedState, SessionRecord, SessionState, StateStore, StoredSecret } from '@haldir/core/backend'
import type pg from 'pg'
import { applyStatements } from './apply-statements.ts'
import { inBatchedTransaction } from './batched-transaction.ts'
import { type LoadPart, loadStatements, tablesOf } from './load-statements.ts'
import { AUDIT_COLUMNS, type AuditRow, type HoldRow, type SessionRow, toAuditEntry, toHoldRecord, toSessionRecord, toSessionState } from './rows.ts'
import { toBackendError } from './to-backend-error.ts'

/**
 * Haldir's state in PostgreSQL: the engine's store. An operation is one transaction of two round
 * trips: `begin` with the statements that lock and load (the session chain `for update`, in id
 * order, so concurrent transactions never deadlock), then the writes with `commit`. A check
 * constraint on every session row backs `spent + reserved ≤ limit` in the database itself.
 */
export function postgresStore(options: { pool: pg.Pool; schema: string; ready: () => Promise<unknown>; ownsPool: boolean }): StateStore {
  const { pool, schema } = options
  const tables = tablesOf(schema)
  const t = (table: string) => `${schema}.${table}`

  async function read<T extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<T[]> {
    await options.ready()
    try {
      return (await pool.query<T>(text, values)).rows
    } catch (error) {
      throw toBackendError(error, 'reading')
    }
  }

  return {
    name: 'postgres',

    async transact(request, decide) {
      await options.ready()
      return inBatchedTransaction(pool, async (transaction) => {
        const { parts, statements } = loadStatements(tables, request)
        const results = statements.length > 0 ? await transaction.run(...statements) : []
        const rowsOf = (part: LoadPart) => (results[parts.indexOf(part)] ?? []) as Record<string, unknown>[]
        const decision = decide(toLoadedState(request.sessionId ?? null, request.sessions ?? null, rowsOf))
        for (const statement of applyStatements(tables, decision.changes)) transaction.write(statement)
        return decision
      }).then((decision) => {
        // The refusal's changes are committed; now it is reported.
        if (decision.error) throw decision.error
        return decision.value as never
      })
    },

    async readSession(tenant, sessionId) {
      const rows = await read<SessionRow>(`select * from ${t('sessions')} where id = $1 and tenant = $2`, [sessionId, tenant])
      return rows[0] ? toSessionRecord(rows[0]) : null
    },

    async readSpend(tenant, sessionId) {
      const rows = await read<{ spent_micros: string; reserved_micros: string; limit_micros: string | null; by_tool: Record<string, number> }>(
        `select spent_micros, reserved_micros, limit_micros, by_tool from ${t('sessions')} where id = $1 and tenant = $2`,
        [sessionId, tenant],
      )
      const row = rows[0]
      if (!row) return null
      return { spentMicros: Number(row.spent_micros), reservedMicros: Number(row.reserved_micros), limitMicros: row.limit_micros === null ? null : Number(row.limit_micros), byTool: row.by_tool }
    },

    async readTrail(tenant, sessionId) {
      const heads = await read<{ audit_seq: string; audit_head: string }>(`select audit_seq, audit_head from ${t('sessions')} where id = $1 and tenant = $2`, [sessionId, tenant])
      const head = heads[0]
      if (!head) return null
      const rows = await read<AuditRow>(`select ${AUDIT_COLUMNS} from ${t('audit_entries')} where session_id = $1 order by position`, [sessionId])
      return { entries: rows.map(toAuditEntry), head: { seq: Number(head.audit_seq), hash: head.audit_head } }
    },

    async queryAudit(query): Promise<AuditPage> {
      const where = ['tenant = $1']
      const values: unknown[] = [query.tenant]
      const add = (column: string, value: unknown) => {
        values.push(value)
        where.push(`${column} = $${values.length}`)
      }
      if (query.sessionId !== null) add('session_id', query.sessionId)
      if (query.agentId !== null) add('agent_id', query.agentId)
      if (query.outcome !== null) add('outcome', query.outcome)
      if (query.flagged !== null) add('flagged', query.flagged)
      const filter = where.join(' and ')
      const [countRows, rows] = await Promise.all([
        read<{ count: string }>(`select count(*) from ${t('audit_entries')} where ${filter}`, values),
        read<AuditRow>(`select ${AUDIT_COLUMNS} from ${t('audit_entries')} where ${filter} order by position limit ${query.limit} offset ${query.offset}`, values),
      ])
      const count = Number(countRows[0]?.count ?? 0)
      const next = query.offset + rows.length
      return { count, entries: rows.map(toAuditEntry), nextOffset: next < count ? next : null }
    },

    async putSecret(tenant, secret, updatedAt) {
      const { sealed } = secret
      await read(
        `insert into ${t('secrets')} (tenant, name, key_id, nonce, ciphertext, tag, scope_required, updated_at_ms) values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (tenant, name) do update set key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, tag = excluded.tag,
           scope_required = excluded.scope_required, updated_at_ms = excluded.updated_at_ms`,
        [tenant, secret.name, sealed.keyId, sealed.nonce, sealed.ciphertext, sealed.tag, secret.scopeRequired, updatedAt],
      )
    },

    async listSessions(tenant, limit): Promise<SessionRecord[]> {
      const rows = await read<SessionRow>(`select * from ${t('sessions')} where tenant = $1 order by created_at_ms desc limit $2`, [tenant, limit])
      return rows.map(toSessionRecord)
    },

    async close() {
      if (options.ownsPool) await pool.end()
    },
  }
}

/** Puts the loaded rows in the order the engine expects: a chain session-first, a subtree parents-first. */
function toLoadedState(sessionId: string | null, scope: 'chain' | 'self' | 'subtree' | null, rowsOf: (part: LoadPart) => Record<string, unknown>[]): LoadedState {
  const sessionRows = rowsOf('sessions') as unknown as SessionRow[]
  let sessions: SessionState[] = []
  const own = sessionRows.find((row) => row.id === sessionId)
  if (own) {
    if (scope === 'chain') {
      const byId = new Map(sessionRows.map((row) => [row.id, row]))
      sessions = [own.id, ...own.ancestors].flatMap((id) => {
        const row = byId.get(id)
        return row ? [toSessionState(row)] : []
      })
    } else {
      sessions = sessionRows.sort((a, b) => a.ancestors.length - b.ancestors.length).map(toSessionState)
    }
  }
  const holdRow = rowsOf('hold')[0] as (HoldRow & Record<string, unknown>) | undefined
  let hold: HoldRecord | null = null
  let closingEntry = null
  if (holdRow) {
    hold = toHoldRecord(holdRow)
    if (holdRow.entry_id) {
      const entryRow = Object.fromEntries(AUDIT_COLUMNS.split(', ').map((column) => [column, holdRow[`entry_${column}`]])) as unknown as AuditRow
      closingEntry = toAuditEntry(entryRow)
    }
  }
  const idempotencyRow = rowsOf('idempotency')[0] as { tenant: string; session_id: string; key: string; result: IdempotencyRecord['result']; created_at_ms: string } | undefined
  const idempotency: IdempotencyRecord | null = idempotencyRow
    ? { tenant: idempotencyRow.tenant, sessionId: idempotencyRow.session_id, key: idempotencyRow.key, result: idempotencyRow.result, createdAt: Number(idempotencyRow.created_at_ms) }
    : null
  const secretRow = rowsOf('secret')[0] as { name: string; key_id: string; nonce: string; ciphertext: string; tag: string; scope_required: string | null } | undefined
  const secret: StoredSecret | null = secretRow
    ? { name: secretRow.name, sealed: { keyId: secretRow.key_id, nonce: secretRow.nonce, ciphertext: secretRow.ciphertext, tag: secretRow.tag }, scopeRequired: secretRow.scope_required }
    : null
  return { sessions, hold, closingEntry, idempotency, secret }
}
