import { createHash } from 'node:crypto'
import pg from 'pg'
import { AUDIT_COLUMNS, STATE_COLUMNS } from './rows.ts'
import { literal } from './sql-text.ts'

/** Something connections come from (a pool, or {@link PreparedStatements.source} over one). */
export interface ConnectionSource {
  connect(): Promise<pg.PoolClient>
}

/** The columns of the audit entry joined onto a hold are prefixed with this, so they do not clash with the hold's own. */
export const ENTRY_PREFIX = 'entry_'

type ArrayType = 'text' | 'bigint' | 'boolean' | 'jsonb'

/**
 * The statements on a governed call's path, prepared once per connection and run with
 * `execute name(…)`. The transactions send several statements per message in the simple protocol
 * (one round trip for many statements, which bind parameters cannot do); parsed and planned on
 * every call, their planning was most of the database's work (0.2–0.6 ms a statement, measured).
 * Prepared, each plan is made once per connection. Rows of a kind go as arrays (`unnest`), so
 * one prepared insert or update writes any number of them, a whole group's in one statement.
 */
export interface PreparedStatements {
  /** Connections from `pool` on which these statements are prepared (on a connection's first use). */
  source(pool: pg.Pool): ConnectionSource
  configVersion(tenant: string): string
  /** The holds, locked in id order, each with the entry that closed it. */
  holds(tenant: string, holdIds: readonly string[]): string
  /** The sessions, all their ancestors and the chains of the holds under their roots whose lease ended by `at` (`null`: none), locked in id order. */
  chains(tenant: string, sessionIds: readonly string[], at: number | null): string
  /** The holds under the sessions' roots whose lease ended by `at`, skipping those another transaction holds. */
  lapsedHolds(tenant: string, sessionIds: readonly string[], at: number): string
  /** The session's row, locked. */
  ownRow(tenant: string, sessionId: string): string
  /** The session's ancestors' rows, unlocked (a call on a slice relies only on what never changes of them). */
  ancestorRows(tenant: string, sessionId: string): string
  /** Fails (division by zero) unless every hold (id, lease, approval) is open and unchanged; locks them. */
  guardHolds(tenant: string, columns: readonly (readonly unknown[])[]): string
  /** Fails unless every session (id, audit seq and head, counters, revocation, usage, slice) and the config version are unchanged; locks them. */
  guardSessions(tenant: string, columns: readonly (readonly unknown[])[], configVersion: string | null): string
  insertEntries(tenant: string, columns: readonly (readonly unknown[])[]): string
  insertHolds(columns: readonly (readonly unknown[])[]): string
  closeHolds(columns: readonly (readonly unknown[])[]): string
  updateSessions(columns: readonly (readonly unknown[])[]): string
}

const ENTRY_TYPES: ArrayType[] = ['text', 'text', 'text', 'text', 'bigint', 'text', 'text', 'text', 'text', 'text', 'boolean', 'text', 'bigint', 'jsonb', 'jsonb', 'text', 'text', 'text']
const HOLD_TYPES: ArrayType[] = ['text', 'text', 'text', 'text', 'bigint', 'text', 'text', 'jsonb', 'bigint', 'bigint', 'text', 'text', 'jsonb', 'boolean']
const CLOSE_TYPES: ArrayType[] = ['text', 'text', 'bigint', 'boolean']
const SESSION_TYPES: ArrayType[] = ['text', 'bigint', 'bigint', 'text', 'bigint', 'bigint', 'text', 'bigint', 'jsonb', 'bigint', 'bigint', 'bigint', 'jsonb']

/** Which statements (by name prefix) each connection already has. Module-wide: two backends of one schema may share a pool. */
const preparedOn = new WeakMap<pg.ClientBase, Set<string>>()

export function preparedStatements(schema: string, options: { prepare?: boolean } = {}): PreparedStatements {
  const prepare = options.prepare ?? true
  const S = `${schema}.sessions`
  const H = `${schema}.holds`
  const A = `${schema}.audit_entries`
  const entryColumns = AUDIT_COLUMNS.split(', ')
    .map((column) => `a.${column} as ${ENTRY_PREFIX}${column}`)
    .join(', ')
  const params = (types: ArrayType[]) => types.map((type, index) => `$${index + 1}::${type}[]`).join(', ')
  const definitions: Record<string, [string, string]> = {
    config_version: ['text', `select version from ${schema}.config_versions where tenant = $1`],
    // What an operation, or a whole group, loads: its holds, its chains (with the chains of the
    // lapsed holds under their roots) and those lapsed holds, in one statement each.
    holds: [
      'text, text[]',
      `select h.*, ${entryColumns} from ${H} h left join ${A} a on a.id = h.settled_entry_id where h.tenant = $1 and h.id = any($2) order by h.id for update of h`,
    ],
    chains: [
      'text, text[], bigint',
      `select ${STATE_COLUMNS} from ${S} where tenant = $1 and id = any(array(
         select unnest(array[own.id] || own.ancestors) from ${S} own where own.tenant = $1 and own.id = any($2)
         union
         select unnest(array[holder.id] || holder.ancestors) from ${H} h join ${S} holder on holder.id = h.session_id
         where h.tenant = $1 and h.settled_entry_id is null and h.expires_at_ms <= $3
           and h.root_id = any(array(select coalesce(ancestors[cardinality(ancestors)], id) from ${S} where tenant = $1 and id = any($2)))))
       order by id for update`,
    ],
    // A call on a slice: its own row locked, its ancestors read as they stand (never locked).
    own_row: ['text, text', `select ${STATE_COLUMNS} from ${S} where tenant = $1 and id = $2 for update`],
    ancestor_rows: ['text, text', `select ${STATE_COLUMNS} from ${S} where tenant = $1 and id = any(array(select unnest(ancestors) from ${S} where tenant = $1 and id = $2))`],
    lapsed_holds: [
      'text, text[], bigint',
      `select h.* from ${H} h where h.tenant = $1 and h.settled_entry_id is null and h.expires_at_ms <= $3
         and h.root_id = any(array(select coalesce(ancestors[cardinality(ancestors)], id) from ${S} where tenant = $1 and id = any($2)))
       order by h.expires_at_ms for update skip locked`,
    ],
    // A group decided on what this process knows: each statement divides by zero unless the rows
    // are still exactly what it decided on (locking them, holds first, as every operation does).
    guard_holds: [
      'text, text[], bigint[], jsonb[]',
      `select 1 / (case when (select count(*) from (select 1 from ${H} h join unnest($2::text[], $3::bigint[], $4::jsonb[]) as u(id, expires, approval) on h.id = u.id
         where h.tenant = $1 and h.settled_entry_id is null and h.expires_at_ms = u.expires and h.approval is not distinct from u.approval
         order by h.id for update of h) held) = cardinality($2) then 1 else 0 end)`,
    ],
    guard_sessions: [
      'text, text[], bigint[], text[], bigint[], bigint[], bigint[], jsonb[], bigint[], bigint[], bigint[], text',
      `select 1 / (case when (select count(*) from (select 1 from ${S} s join unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::jsonb[], $9::bigint[], $10::bigint[], $11::bigint[])
           as v(id, seq, head, spent, reserved, revoked, usage, slice_free, slice_spent, held) on s.id = v.id
         where s.tenant = $1 and s.audit_seq = v.seq and s.audit_head = v.head and s.spent_micros = v.spent and s.reserved_micros = v.reserved
           and s.revoked_at_ms is not distinct from v.revoked and s.usage is not distinct from v.usage
           and s.slice_free_micros = v.slice_free and s.slice_spent_micros = v.slice_spent and s.held_micros = v.held
         order by s.id for update of s) locked) = cardinality($2)
       and (select version::text from ${schema}.config_versions where tenant = $1) is not distinct from $12 then 1 else 0 end)`,
    ],
    insert_entries: [
      `text, ${ENTRY_TYPES.map((type) => `${type}[]`).join(', ')}`,
      `insert into ${A} (id, key_id, tenant, session_id, agent_id, seq, timestamp, tool, action, scope, outcome, flagged, reason, cost_micros, details, ledger, prev_hash, hash, leaf_hash)
       select u.id, u.key_id, $1, u.session_id, u.agent_id, u.seq, u.timestamp, u.tool, u.action, u.scope, u.outcome, u.flagged, u.reason, u.cost, u.details, u.ledger, u.prev_hash, u.hash, u.leaf_hash
       from unnest(${ENTRY_TYPES.map((_, index) => `$${index + 2}`).join(', ')}) with ordinality
         as u(id, key_id, session_id, agent_id, seq, timestamp, tool, action, scope, outcome, flagged, reason, cost, details, ledger, prev_hash, hash, leaf_hash, position)
       order by u.position`,
    ],
    insert_holds: [
      HOLD_TYPES.map((type) => `${type}[]`).join(', '),
      `insert into ${H} (id, tenant, session_id, root_id, amount_micros, tool, scope, details, created_at_ms, expires_at_ms, idempotency_key, approval_id, approval, sliced)
       select * from unnest(${params(HOLD_TYPES)})`,
    ],
    close_holds: [
      CLOSE_TYPES.map((type) => `${type}[]`).join(', '),
      `update ${H} h set settled_entry_id = u.entry_id, charged_micros = u.charged, expired = u.expired
       from unnest(${params(CLOSE_TYPES)}) as u(id, entry_id, charged, expired) where h.id = u.id`,
    ],
    update_sessions: [
      SESSION_TYPES.map((type) => `${type}[]`).join(', '),
      `update ${S} as s set
         spent_micros = s.spent_micros + v.spent, reserved_micros = s.reserved_micros + v.reserved,
         by_tool = case when v.tool is null then s.by_tool else jsonb_set(s.by_tool, array[v.tool], to_jsonb(coalesce((s.by_tool ->> v.tool)::bigint, 0) + v.tool_micros)) end,
         audit_seq = coalesce(v.seq, s.audit_seq), audit_head = coalesce(v.head, s.audit_head), revoked_at_ms = coalesce(v.revoked, s.revoked_at_ms),
         usage = coalesce(v.usage, s.usage),
         slice_free_micros = s.slice_free_micros + v.slice_free, slice_spent_micros = s.slice_spent_micros + v.slice_spent, held_micros = s.held_micros + v.held,
         slice_by_tool = case when v.slice_tools is null then s.slice_by_tool else (
           select coalesce(jsonb_object_agg(tool, to_jsonb(micros)) filter (where micros <> 0), '{}')
           from (select tool, sum(micros::bigint) as micros from (select * from jsonb_each_text(s.slice_by_tool) union all select * from jsonb_each_text(v.slice_tools)) as e(tool, micros) group by tool) as t) end
       from unnest(${params(SESSION_TYPES)}) as v(id, spent, reserved, tool, tool_micros, seq, head, revoked, usage, slice_free, slice_spent, held, slice_tools) where s.id = v.id`,
    ],
  }
  // Names follow from the schema and the statements' text: two schemas, or two versions of this
  // package, sharing a connection never run each other's statements; two copies of one version share theirs.
  const prefix = `haldir_${createHash('sha256').update(JSON.stringify([schema, definitions])).digest('hex').slice(0, 12)}_`
  const prepareAll = Object.entries(definitions).map(([name, [types, text]]) => `prepare ${prefix}${name}(${types}) as ${text}`)
  const execute = (name: string, args: string[]) => {
    if (prepare) return `execute ${prefix}${name}(${args.join(', ')})`
    // Not prepared (a pooler that keeps no session state): the same text, the values inlined with their types.
    const [types, text] = definitions[name] as [string, string]
    const typeOf = types.split(', ')
    return text.replace(/\$(\d+)/g, (_, index: string) => `(${args[Number(index) - 1]})::${typeOf[Number(index) - 1]}`)
  }
  const arrays = (types: ArrayType[], columns: readonly (readonly unknown[])[]) => types.map((type, index) => arrayLiteral(columns[index] ?? [], type))

  return {
    source(pool) {
      if (!prepare) return { connect: () => pool.connect() }
      return {
        async connect() {
          const client = await pool.connect()
          let names = preparedOn.get(client)
          if (names?.has(prefix)) return client
          try {
            await client.query(prepareAll.join(';\n'))
          } catch (error) {
            try {
              // Some prepared already (by another copy of this module on a shared pool): each of the
              // others on its own (the message stopped at the first that existed).
              if (!(error instanceof pg.DatabaseError && error.code === '42P05')) throw error
              for (const statement of prepareAll) await client.query(statement).catch((each: unknown) => {
                if (!(each instanceof pg.DatabaseError && each.code === '42P05')) throw each
              })
            } catch (failure) {
              client.release(true)
              throw failure
            }
          }
          if (!names) {
            preparedOn.set(client, (names = new Set()))
            forgetWhenDeallocated(client, names)
          }
          names.add(prefix)
          return client
        },
      }
    },
    configVersion: (tenant) => execute('config_version', [literal(tenant)]),
    holds: (tenant, holdIds) => execute('holds', [literal(tenant), arrayLiteral(holdIds, 'text')]),
    chains: (tenant, sessionIds, at) => execute('chains', [literal(tenant), arrayLiteral(sessionIds, 'text'), literal(at)]),
    lapsedHolds: (tenant, sessionIds, at) => execute('lapsed_holds', [literal(tenant), arrayLiteral(sessionIds, 'text'), literal(at)]),
    ownRow: (tenant, sessionId) => execute('own_row', [literal(tenant), literal(sessionId)]),
    ancestorRows: (tenant, sessionId) => execute('ancestor_rows', [literal(tenant), literal(sessionId)]),
    guardHolds: (tenant, columns) => execute('guard_holds', [literal(tenant), ...arrays(['text', 'bigint', 'jsonb'], columns)]),
    guardSessions: (tenant, columns, configVersion) =>
      execute('guard_sessions', [literal(tenant), ...arrays(['text', 'bigint', 'text', 'bigint', 'bigint', 'bigint', 'jsonb', 'bigint', 'bigint', 'bigint'], columns), literal(configVersion)]),
    insertEntries: (tenant, columns) => execute('insert_entries', [literal(tenant), ...arrays(ENTRY_TYPES, columns)]),
    insertHolds: (columns) => execute('insert_holds', arrays(HOLD_TYPES, columns)),
    closeHolds: (columns) => execute('close_holds', arrays(CLOSE_TYPES, columns)),
    updateSessions: (columns) => execute('update_sessions', arrays(SESSION_TYPES, columns)),
  }
}

/** An array of one SQL type as a literal: each element inlined as {@link literal} does it (JSON as text cast with the array). */
export function arrayLiteral(values: readonly unknown[], type: ArrayType): string {
  if (values.length === 0) return `'{}'::${type}[]`
  const items = values.map((value) => (value === null || value === undefined ? 'null' : type === 'jsonb' ? pg.escapeLiteral(JSON.stringify(value)) : literal(value)))
  return `array[${items.join(',')}]::${type}[]`
}

/**
 * Someone ran `deallocate all` or `discard all` on the connection (a pool reset, a pooler): the
 * statement that finds its prepared statement gone fails (nothing is committed), and the
 * connection is prepared again on its next use.
 */
function forgetWhenDeallocated(client: pg.PoolClient, names: Set<string>): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  client.query = ((...args: unknown[]) => {
    const result = query(...args)
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if (error instanceof pg.DatabaseError && error.code === '26000') names.clear()
      })
    }
    return result
  }) as typeof client.query
}
