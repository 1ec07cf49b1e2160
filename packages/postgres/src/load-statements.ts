import type { LoadRequest } from '@haldir/core/backend'
import { STATE_COLUMNS } from './rows.ts'
import { type PreparedStatements, preparedStatements } from './prepared-statements.ts'
import { raw, sql } from './sql-text.ts'

/** The tables of one Haldir schema, as SQL fragments. */
export interface Tables {
  sessions: ReturnType<typeof raw>
  audit: ReturnType<typeof raw>
  holds: ReturnType<typeof raw>
  idempotency: ReturnType<typeof raw>
  secrets: ReturnType<typeof raw>
  configVersions: ReturnType<typeof raw>
  /** The statements of a governed call's path, prepared per connection. */
  prepared: PreparedStatements
}

export function tablesOf(schema: string, options: { prepare?: boolean } = {}): Tables {
  return {
    sessions: raw(`${schema}.sessions`),
    audit: raw(`${schema}.audit_entries`),
    holds: raw(`${schema}.holds`),
    idempotency: raw(`${schema}.idempotency`),
    secrets: raw(`${schema}.secrets`),
    configVersions: raw(`${schema}.config_versions`),
    prepared: preparedStatements(schema, options),
  }
}

export type LoadPart = 'hold' | 'sessions' | 'ancestors' | 'expiredHolds' | 'idempotency' | 'secret' | 'configVersion'

export { ENTRY_PREFIX } from './prepared-statements.ts'
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
    add('hold', tables.prepared.holds(tenant, [request.holdId]))
  }
  const { sessionId, sessions: scope } = request
  if (scope !== undefined && sessionId !== undefined) {
    const columns = raw(STATE_COLUMNS)
    if (scope === 'chain' && request.lock === 'session') {
      // A call on a slice: its row locked, its ancestors read after the lock (never locked), no lapsed holds.
      add('sessions', tables.prepared.ownRow(tenant, sessionId))
      add('ancestors', tables.prepared.ancestorRows(tenant, sessionId))
    } else if (scope === 'chain') {
      const at = request.expiredHoldsAt
      if (at === undefined) {
        add('sessions', tables.prepared.chains(tenant, [sessionId], null))
      } else {
        // The chain, and the chains of the holds under its root whose lease ended, locked together in id order.
        add('sessions', tables.prepared.chains(tenant, [sessionId], at))
        add('expiredHolds', tables.prepared.lapsedHolds(tenant, [sessionId], at))
      }
    } else if (scope === 'self') {
      add('sessions', sql`select ${columns} from ${S} where tenant = ${tenant} and id = ${sessionId} for update`)
    } else {
      add('sessions', sql`select ${columns} from ${S} where tenant = ${tenant} and (id = ${sessionId} or ${sessionId} = any(ancestors)) order by id for update`)
      // A root's tree (a recall of its slices): its lapsed holds too, whose chains are all in the tree.
      if (request.expiredHoldsAt !== undefined) add('expiredHolds', tables.prepared.lapsedHolds(tenant, [sessionId], request.expiredHoldsAt))
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
  if (request.configVersion) add('configVersion', tables.prepared.configVersion(tenant))
  return { parts, statements }
}
