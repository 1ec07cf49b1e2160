import type { LoadRequest } from '@haldir/core/backend'
import { AUDIT_COLUMNS, STATE_COLUMNS } from './rows.ts'
import { raw, sql } from './sql-text.ts'

/** The tables of one Haldir schema, as SQL fragments. */
export interface Tables {
  sessions: ReturnType<typeof raw>
  audit: ReturnType<typeof raw>
  holds: ReturnType<typeof raw>
  idempotency: ReturnType<typeof raw>
  secrets: ReturnType<typeof raw>
}

export function tablesOf(schema: string): Tables {
  return {
    sessions: raw(`${schema}.sessions`),
    audit: raw(`${schema}.audit_entries`),
    holds: raw(`${schema}.holds`),
    idempotency: raw(`${schema}.idempotency`),
    secrets: raw(`${schema}.secrets`),
  }
}

export type LoadPart = 'hold' | 'sessions' | 'idempotency' | 'secret'

/**
 * The statements that load and lock what a request names, in a fixed lock order (the hold, then
 * sessions by id) so concurrent transactions never deadlock. Returns which part each statement
 * answers, in order.
 */
export function loadStatements(tables: Tables, request: LoadRequest): { parts: LoadPart[]; statements: string[] } {
  const { tenant } = request
  const parts: LoadPart[] = []
  const statements: string[] = []
  const add = (part: LoadPart, statement: string) => {
    parts.push(part)
    statements.push(statement)
  }
  if (request.holdId !== undefined) {
    const auditColumns = raw(AUDIT_COLUMNS.split(', ').map((column) => `a.${column} as entry_${column}`).join(', '))
    add(
      'hold',
      sql`select h.*, ${auditColumns} from ${tables.holds} h left join ${tables.audit} a on a.id = h.settled_entry_id
          where h.id = ${request.holdId} and h.tenant = ${tenant} for update of h`,
    )
  }
  const { sessionId, sessions: scope } = request
  if (scope !== undefined && sessionId !== undefined) {
    const columns = raw(STATE_COLUMNS)
    const S = tables.sessions
    if (scope === 'chain') {
      add('sessions', sql`select ${columns} from ${S} where tenant = ${tenant} and id = any(array[${sessionId}]::text[] || (select ancestors from ${S} where id = ${sessionId} and tenant = ${tenant})) order by id for update`)
    } else if (scope === 'self') {
      add('sessions', sql`select ${columns} from ${S} where tenant = ${tenant} and id = ${sessionId} for update`)
    } else {
      add('sessions', sql`select ${columns} from ${S} where tenant = ${tenant} and (id = ${sessionId} or ${sessionId} = any(ancestors)) order by id for update`)
    }
    if (request.idempotencyKey !== undefined) {
      add('idempotency', sql`select tenant, session_id, key, result, created_at_ms from ${tables.idempotency} where tenant = ${tenant} and session_id = ${sessionId} and key = ${request.idempotencyKey}`)
    }
  }
  if (request.secretName !== undefined) {
    add('secret', sql`select name, key_id, nonce, ciphertext, tag, scope_required from ${tables.secrets} where tenant = ${tenant} and name = ${request.secretName}`)
  }
  return { parts, statements }
}
