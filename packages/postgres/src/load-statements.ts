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
  configVersions: ReturnType<typeof raw>
}

export function tablesOf(schema: string): Tables {
  return {
    sessions: raw(`${schema}.sessions`),
    audit: raw(`${schema}.audit_entries`),
    holds: raw(`${schema}.holds`),
    idempotency: raw(`${schema}.idempotency`),
    secrets: raw(`${schema}.secrets`),
    configVersions: raw(`${schema}.config_versions`),
  }
}

export type LoadPart = 'hold' | 'sessions' | 'expiredHolds' | 'idempotency' | 'secret' | 'configVersion'

/** The columns of the audit entry joined onto a hold, prefixed so they do not clash with the hold's own. */
export const ENTRY_PREFIX = 'entry_'
const prefixedAudit = (alias: string) => raw(AUDIT_COLUMNS.split(', ').map((column) => `${alias}.${column} as ${ENTRY_PREFIX}${column}`).join(', '))
/** The hold's columns, prefixed, for the hold joined onto an idempotency record. */
export const HOLD_PREFIX = 'hold_'
const HOLD_COLUMNS = ['id', 'tenant', 'session_id', 'root_id', 'amount_micros', 'tool', 'scope', 'details', 'created_at_ms', 'expires_at_ms', 'idempotency_key', 'expired', 'settled_entry_id', 'charged_micros', 'approval']

/**
 * The statements that load and lock what a request names, in a fixed lock order: the hold being
 * settled, then every session row involved in one statement (by id), then the expired holds
 * (skipping any another transaction holds, so a gate never waits on a settle in progress).
 * Returns which part each statement answers, in order.
 */
export function loadStatements(tables: Tables, request: LoadRequest): { parts: LoadPart[]; statements: string[] } {
  const { tenant } = request
  const parts: LoadPart[] = []
  const statements: string[] = []
  const add = (part: LoadPart, statement: string) => {
    parts.push(part)
    statements.push(statement)
  }
  const S = tables.sessions
  const H = tables.holds
  if (request.holdId !== undefined) {
    add('hold', sql`select h.*, ${prefixedAudit('a')} from ${H} h left join ${tables.audit} a on a.id = h.settled_entry_id where h.id = ${request.holdId} and h.tenant = ${tenant} for update of h`)
  }
  const { sessionId, sessions: scope } = request
  if (scope !== undefined && sessionId !== undefined) {
    const columns = raw(STATE_COLUMNS)
    if (scope === 'chain') {
      const chain = sql`array[${sessionId}]::text[] || (select ancestors from ${S} where id = ${sessionId} and tenant = ${tenant})`
      const at = request.expiredHoldsAt
      if (at === undefined) {
        add('sessions', sql`select ${columns} from ${S} where tenant = ${tenant} and id = any(${raw(chain)}) order by id for update`)
      } else {
        const root = sql`(select coalesce(ancestors[cardinality(ancestors)], id) from ${S} where id = ${sessionId} and tenant = ${tenant})`
        const expired = sql`${H}.tenant = ${tenant} and ${H}.root_id = ${raw(root)} and ${H}.settled_entry_id is null and ${H}.expires_at_ms <= ${at}`
        // The chain, and the chains of the holds under its root whose lease ended, locked together in id order.
        add(
          'sessions',
          sql`select ${columns} from ${S} where tenant = ${tenant} and id = any(${raw(chain)} || coalesce((
                select array_agg(distinct member) from ${H} join ${S} holder on holder.id = ${H}.session_id, unnest(array[holder.id] || holder.ancestors) member
                where ${raw(expired)}), '{}')) order by id for update`,
        )
        add('expiredHolds', sql`select * from ${H} where ${raw(expired)} order by expires_at_ms for update skip locked`)
      }
    } else if (scope === 'self') {
      add('sessions', sql`select ${columns} from ${S} where tenant = ${tenant} and id = ${sessionId} for update`)
    } else {
      add('sessions', sql`select ${columns} from ${S} where tenant = ${tenant} and (id = ${sessionId} or ${sessionId} = any(ancestors)) order by id for update`)
    }
  }
  if (request.idempotencyKey !== undefined) {
    const holdColumns = raw(HOLD_COLUMNS.map((column) => `h.${column} as ${HOLD_PREFIX}${column}`).join(', '))
    add(
      'idempotency',
      sql`select i.tenant, i.key, i.session_id, i.fingerprint, i.result, i.created_at_ms, ${holdColumns}
          from ${tables.idempotency} i left join ${H} h on h.id = coalesce(i.result ->> 'holdId', i.result -> 'approval' ->> 'holdId') and h.tenant = i.tenant
          where i.tenant = ${tenant} and i.key = ${request.idempotencyKey}`,
    )
  }
  if (request.secretName !== undefined) {
    add('secret', sql`select name, key_id, nonce, ciphertext, tag, scope_required, format from ${tables.secrets} where tenant = ${tenant} and name = ${request.secretName}`)
  }
  if (request.configVersion) add('configVersion', sql`select version from ${tables.configVersions} where tenant = ${tenant}`)
  return { parts, statements }
}
