import {
  auditEvents,
  checkSettleAmount,
  type AuditEntry,
  type AuditEvent,
  type AuthorizeResult,
  BackendError,
  type BudgetLevel,
  createVaultCipher,
  decideAuthorization,
  denialToError,
  HaldirError,
  type HaldirBackend,
  type KeyInput,
  newId,
  NotFoundError,
  planChildSession,
  resolveKeys,
  sealAuditEntry,
  type SessionRecord,
  type SettleResult,
  ValidationError,
  verifyAuditChain,
  GENESIS_HASH,
} from '@haldir/core'
import pg from 'pg'
import { migrate } from './migrations.ts'
import { AUDIT_COLUMNS, type AuditRow, type SessionRow, toAuditEntry, toSessionRecord } from './rows.ts'
import { raw, sql } from './sql-text.ts'

export interface PostgresBackendOptions {
  /** `postgres://user@host:5432/db`; or pass `pool`. */
  connectionString?: string
  /** A pool of your own (not closed by `close()`). */
  pool?: pg.Pool
  /** Vault master key, 32 bytes hex/base64. Required (or `HALDIR_MASTER_KEY`): secrets must outlive the process. */
  masterKey?: KeyInput
  previousMasterKeys?: readonly KeyInput[]
  /** @default derived from the master key (or `HALDIR_AUDIT_KEY`) */
  auditKey?: KeyInput
  /** PostgreSQL schema holding Haldir's tables. @default 'haldir' */
  schema?: string
  /** Apply pending migrations before the first operation. @default true */
  migrate?: boolean
  /** Connections when the backend makes its own pool. @default 10 */
  poolSize?: number
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number
}

export interface PostgresBackend extends HaldirBackend {
  readonly pool: pg.Pool
  readonly schema: string
  /** Applies pending migrations now; returns the versions applied. */
  migrate(): Promise<number[]>
  /** Ends the pool if the backend made it. */
  close(): Promise<void>
}

type LockedSession = { row: SessionRow; record: SessionRecord }

interface Tx {
  /** Sends the queued writes and these statements now; returns each statement's rows. */
  run(...statements: string[]): Promise<unknown[][]>
  /** Queues a write; it travels with the next `run` or the commit. */
  write(statement: string): void
  /** Audit heads moved in this transaction, written with the counters or at commit. */
  heads: Map<string, { seq: number; hash: string }>
}

/**
 * The PostgreSQL backend: every gate decision runs in one transaction that locks the session
 * and all its ancestors (in id order, so concurrent transactions never deadlock), applies
 * core's policy, and writes the counters, the hold and the audit entry together. Many
 * processes and hosts share one budget; a check constraint on every session row backs the
 * invariant `spent + reserved ≤ limit` in the database itself.
 *
 * @example
 * const haldir = createHaldir({ backend: postgresBackend({ connectionString: process.env.DATABASE_URL, masterKey: process.env.HALDIR_MASTER_KEY }) })
 */
export function postgresBackend(options: PostgresBackendOptions): PostgresBackend {
  const keys = resolveKeys({ ...options, durable: true, backendName: 'postgres' })
  const cipher = createVaultCipher({ masterKey: keys.masterKey, previousKeys: keys.previousKeys })
  const schema = options.schema ?? 'haldir'
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new ValidationError({ issues: [{ path: 'schema', message: 'must be a lower-case SQL identifier' }] })
  if (!options.pool && !options.connectionString) throw new ValidationError({ issues: [{ path: 'connectionString', message: 'give a connectionString or a pool' }] })
  const ownsPool = !options.pool
  const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 })
  // An idle client's error (a server restart) must not crash the process; the next query reports it.
  if (ownsPool) pool.on('error', () => {})
  const now = options.now ?? Date.now
  const t = (table: string) => `${schema}.${table}`
  const S = raw(t('sessions'))
  // What the gate needs of each locked session; metadata and per-tool totals stay in the table.
  const CHAIN_COLUMNS = raw('id, tenant, agent_id, scopes, limit_micros, spent_micros, reserved_micros, created_at_ms, expires_at_ms, parent_id, ancestors, revoked_at_ms, audit_seq, audit_head')
  const A = raw(t('audit_entries'))
  let ready: Promise<unknown> | undefined
  const ensureReady = () => (ready ??= options.migrate === false ? Promise.resolve() : migrate(pool, schema).catch((error: unknown) => {
    ready = undefined
    throw toBackendError(error, 'migrating the schema')
  }))

  async function read<T extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<T[]> {
    await ensureReady()
    try {
      return (await pool.query<T>(sql, values)).rows
    } catch (error) {
      throw toBackendError(error, 'reading')
    }
  }

  /**
   * A transaction in as few round trips as possible: `begin` travels with the first statements
   * (the locks), queued writes travel with `commit`. A governed call's gate or settle is two
   * round trips, whatever it writes.
   */
  async function transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    await ensureReady()
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (error) {
      throw toBackendError(error, 'connecting')
    }
    const queued: string[] = ['begin']
    const tx: Tx = {
      heads: new Map(),
      async run(...statements) {
        const batch = [...queued.splice(0), ...statements]
        const results = (await client.query(batch.join(';\n'))) as unknown as pg.QueryResult[] | pg.QueryResult
        const all = Array.isArray(results) ? results : [results]
        return all.slice(all.length - statements.length).map((result) => result.rows)
      },
      write(statement) {
        queued.push(statement)
      },
    }
    try {
      const result = await work(tx)
      for (const [id, head] of tx.heads) queued.push(sql`update ${S} set audit_seq = ${head.seq}, audit_head = ${head.hash} where id = ${id}`)
      queued.push('commit')
      await client.query(queued.join(';\n'))
      return result
    } catch (error) {
      await client.query('rollback').catch(() => {})
      throw HaldirError.isInstance(error) ? error : toBackendError(error, 'writing')
    } finally {
      client.release()
    }
  }

  const lockChainSql = (tenant: string, sessionId: string) =>
    sql`select ${CHAIN_COLUMNS} from ${S} where tenant = ${tenant} and id = any(array[${sessionId}]::text[] || (select ancestors from ${S} where id = ${sessionId} and tenant = ${tenant})) order by id for update`

  /** The locked rows of a session's chain, session first. */
  function chainOf(rows: SessionRow[], sessionId: string): LockedSession[] {
    const byId = new Map(rows.map((row) => [row.id, row]))
    const session = byId.get(sessionId)
    if (!session) throw new NotFoundError({ resource: 'session', id: sessionId })
    return [sessionId, ...session.ancestors].map((id) => {
      const row = byId.get(id)
      if (!row) throw new BackendError({ message: `session ${sessionId} names a missing ancestor ${id}` })
      return { row, record: toSessionRecord(row) }
    })
  }

  async function lockChain(tx: Tx, tenant: string, sessionId: string): Promise<LockedSession[]> {
    const [rows] = await tx.run(lockChainSql(tenant, sessionId))
    return chainOf(rows as SessionRow[], sessionId)
  }

  function append(tx: Tx, locked: LockedSession, input: AuditEvent): AuditEntry {
    const { row } = locked
    const entry = sealAuditEntry(
      keys.auditKey,
      { seq: Number(row.audit_seq), hash: row.audit_head },
      { id: newId('aud'), sessionId: row.id, agentId: row.agent_id, timestamp: new Date(now()).toISOString(), ...input, reason: input.reason === null ? null : noNul(input.reason) },
    )
    tx.write(
      sql`insert into ${A} (id, tenant, session_id, agent_id, seq, timestamp, tool, action, scope, outcome, flagged, reason, cost_micros, details, prev_hash, hash)
          values (${entry.id}, ${row.tenant}, ${entry.sessionId}, ${entry.agentId}, ${entry.seq}, ${entry.timestamp}, ${entry.tool}, ${entry.action}, ${entry.scope}, ${entry.outcome},
                  ${entry.flagged}, ${entry.reason}, ${Math.round(entry.costUsd * 1e6)}, ${entry.details}, ${entry.prevHash}, ${entry.hash})`,
    )
    tx.heads.set(row.id, { seq: entry.seq, hash: entry.hash })
    row.audit_seq = String(entry.seq)
    row.audit_head = entry.hash
    return entry
  }

  /**
   * Moves the counters of a whole chain in one statement: charge `amount` (also by tool),
   * release `releaseMicros` of reservations, reserve `reserveMicros`; and writes the audit head of
   * any of these sessions this transaction moved, so a governed call updates each row once.
   */
  function moveCounters(tx: Tx, ids: string[], change: { tool: string; amount: number; releaseMicros: number; reserveMicros: number }): void {
    const heads = ids.flatMap((id) => {
      const head = tx.heads.get(id)
      if (!head) return []
      tx.heads.delete(id)
      return [{ id, ...head }]
    })
    const seqCase = heads.length ? raw(`case ${heads.map((head) => sql`when id = ${head.id} then ${head.seq}`).join(' ')} else audit_seq end`) : raw('audit_seq')
    const hashCase = heads.length ? raw(`case ${heads.map((head) => sql`when id = ${head.id} then ${head.hash}`).join(' ')} else audit_head end`) : raw('audit_head')
    const byTool =
      change.amount > 0 ? raw(sql`jsonb_set(by_tool, array[${change.tool}], to_jsonb(coalesce((by_tool ->> ${change.tool})::bigint, 0) + ${change.amount}))`) : raw('by_tool')
    tx.write(
      sql`update ${S} set spent_micros = spent_micros + ${change.amount}, reserved_micros = reserved_micros - ${change.releaseMicros} + ${change.reserveMicros},
          by_tool = ${byTool}, audit_seq = ${seqCase}, audit_head = ${hashCase} where id = any(${ids})`,
    )
  }

  const levelsOf = (chain: LockedSession[]): BudgetLevel[] =>
    chain.map(({ row, record }) => ({ sessionId: record.id, limitMicros: record.limitMicros, spentMicros: Number(row.spent_micros), reservedMicros: Number(row.reserved_micros) }))

  async function entryById(tx: Tx, id: string): Promise<AuditEntry> {
    const [rows] = await tx.run(sql`select ${raw(AUDIT_COLUMNS)} from ${A} where id = ${id}`)
    const row = rows?.[0] as AuditRow | undefined
    if (!row) throw new BackendError({ message: `audit entry ${id} is missing` })
    return toAuditEntry(row)
  }

  return {
    name: 'postgres',
    pool,
    schema,
    migrate: async () => {
      ready = migrate(pool, schema)
      return (await ready) as number[]
    },

    createSession: (request) =>
      transaction(async (tx) => {
        const createdAt = now()
        let expiresAt = createdAt + request.ttlMs
        let ancestors: string[] = []
        if (request.parentId !== null) {
          const parentChain = await lockChain(tx, request.tenant, request.parentId)
          expiresAt = planChildSession({ parentChain: parentChain.map((link) => link.record), scopes: request.scopes, expiresAt, now: createdAt }).expiresAt
          ancestors = parentChain.map((link) => link.record.id)
        }
        const row: SessionRow = {
          id: newId('ses'),
          tenant: request.tenant,
          agent_id: request.agentId,
          scopes: [...request.scopes],
          limit_micros: request.limitMicros === null ? null : String(request.limitMicros),
          spent_micros: '0',
          reserved_micros: '0',
          created_at_ms: String(createdAt),
          expires_at_ms: String(expiresAt),
          parent_id: request.parentId,
          ancestors,
          revoked_at_ms: null,
          metadata: request.metadata,
          audit_seq: '0',
          audit_head: GENESIS_HASH,
        }
        tx.write(
          sql`insert into ${S} (id, tenant, agent_id, scopes, limit_micros, created_at_ms, expires_at_ms, parent_id, ancestors, metadata, audit_head)
              values (${row.id}, ${row.tenant}, ${row.agent_id}, ${row.scopes}, ${request.limitMicros}, ${createdAt}, ${expiresAt}, ${row.parent_id}, ${ancestors}, ${row.metadata}, ${GENESIS_HASH})`,
        )
        const record = toSessionRecord(row)
        append(tx, { row, record }, auditEvents.sessionCreated(record))
        return record
      }),

    async getSession(request) {
      const rows = await read<SessionRow>(`select * from ${t('sessions')} where id = $1 and tenant = $2`, [request.sessionId, request.tenant])
      if (!rows[0]) throw new NotFoundError({ resource: 'session', id: request.sessionId })
      return toSessionRecord(rows[0])
    },

    authorize: (request) =>
      transaction(async (tx) => {
        const statements = [lockChainSql(request.tenant, request.sessionId)]
        if (request.idempotencyKey !== null) {
          statements.push(sql`select result from ${raw(t('idempotency'))} where tenant = ${request.tenant} and session_id = ${request.sessionId} and key = ${request.idempotencyKey}`)
        }
        const [locked, remembered] = await tx.run(...statements)
        const chain = chainOf(locked as SessionRow[], request.sessionId)
        const first = remembered?.[0] as { result: AuthorizeResult } | undefined
        if (first) return first.result
        const [session] = chain as [LockedSession]
        const decision = decideAuthorization({
          chain: chain.map((link) => link.record),
          levels: levelsOf(chain),
          mode: request.mode,
          scope: request.scope,
          amountMicros: request.amountMicros,
          now: now(),
        })
        const ids = chain.map((link) => link.record.id)
        let result: AuthorizeResult
        if (!decision.allowed) {
          const entry = append(tx, session, auditEvents.denied(request, decision))
          result = { allowed: false, code: decision.code, reason: decision.reason, facts: decision.facts, entry }
        } else if (request.mode === 'reserve') {
          const holdId = newId('hold')
          moveCounters(tx, ids, { tool: request.tool, amount: 0, releaseMicros: 0, reserveMicros: request.amountMicros })
          tx.write(
            sql`insert into ${raw(t('holds'))} (id, tenant, session_id, amount_micros, tool, scope, details, created_at_ms)
                values (${holdId}, ${request.tenant}, ${request.sessionId}, ${request.amountMicros}, ${request.tool}, ${request.scope}, ${request.details}, ${now()})`,
          )
          result = { allowed: true, holdId, entry: null }
        } else if (request.mode === 'charge') {
          const entry = append(tx, session, auditEvents.charged(request))
          moveCounters(tx, ids, { tool: request.tool, amount: request.amountMicros, releaseMicros: 0, reserveMicros: 0 })
          result = { allowed: true, holdId: null, entry }
        } else {
          result = { allowed: true, holdId: null, entry: null }
        }
        if (request.idempotencyKey !== null) {
          tx.write(sql`insert into ${raw(t('idempotency'))} (tenant, session_id, key, result, created_at_ms) values (${request.tenant}, ${request.sessionId}, ${request.idempotencyKey}, ${result}, ${now()})`)
        }
        return result
      }),

    settle: (request) =>
      transaction(async (tx): Promise<SettleResult> => {
        // Hold first, then the chain: the gate only ever inserts holds, so the order cannot deadlock.
        const [holds, locked] = await tx.run(
          sql`select session_id, amount_micros, tool, scope, details, settled_entry_id, charged_micros from ${raw(t('holds'))} where id = ${request.holdId} and tenant = ${request.tenant} for update`,
          lockChainSql(request.tenant, request.sessionId),
        )
        const hold = holds?.[0] as
          | { session_id: string; amount_micros: string; tool: string; scope: string | null; details: Record<string, unknown>; settled_entry_id: string | null; charged_micros: string | null }
          | undefined
        if (!hold || hold.session_id !== request.sessionId) throw new NotFoundError({ resource: 'hold', id: request.holdId })
        if (hold.settled_entry_id !== null) return { entry: await entryById(tx, hold.settled_entry_id), chargedMicros: Number(hold.charged_micros) }
        const held = Number(hold.amount_micros)
        checkSettleAmount(request.amountMicros, held)
        const chain = chainOf(locked as SessionRow[], request.sessionId)
        const entry = append(tx, chain[0] as LockedSession, auditEvents.settled(hold, request))
        moveCounters(tx, chain.map((link) => link.record.id), { tool: hold.tool, amount: request.amountMicros, releaseMicros: held, reserveMicros: 0 })
        tx.write(sql`update ${raw(t('holds'))} set settled_entry_id = ${entry.id}, charged_micros = ${request.amountMicros} where id = ${request.holdId}`)
        return { entry, chargedMicros: request.amountMicros }
      }),

    appendAudit: (request) =>
      transaction(async (tx) => {
        const [rows] = await tx.run(sql`select * from ${S} where id = ${request.sessionId} and tenant = ${request.tenant} for update`)
        const row = rows?.[0] as SessionRow | undefined
        if (!row) throw new NotFoundError({ resource: 'session', id: request.sessionId })
        return append(tx, { row, record: toSessionRecord(row) }, auditEvents.logged(request))
      }),

    async getSpend(request) {
      const rows = await read<{ spent_micros: string; reserved_micros: string; limit_micros: string | null; by_tool: Record<string, number> }>(
        `select spent_micros, reserved_micros, limit_micros, by_tool from ${t('sessions')} where id = $1 and tenant = $2`,
        [request.sessionId, request.tenant],
      )
      const row = rows[0]
      if (!row) throw new NotFoundError({ resource: 'session', id: request.sessionId })
      return { spentMicros: Number(row.spent_micros), reservedMicros: Number(row.reserved_micros), limitMicros: row.limit_micros === null ? null : Number(row.limit_micros), byTool: row.by_tool }
    },

    async queryAudit(request) {
      if (request.sessionId !== null) {
        const found = await read<{ id: string }>(`select id from ${t('sessions')} where id = $1 and tenant = $2`, [request.sessionId, request.tenant])
        if (!found[0]) throw new NotFoundError({ resource: 'session', id: request.sessionId })
      }
      const where = ['tenant = $1']
      const values: unknown[] = [request.tenant]
      const add = (clause: string, value: unknown) => {
        values.push(value)
        where.push(clause.replace('?', `$${values.length}`))
      }
      if (request.sessionId !== null) add('session_id = ?', request.sessionId)
      if (request.agentId !== null) add('agent_id = ?', request.agentId)
      if (request.outcome !== null) add('outcome = ?', request.outcome)
      if (request.flagged !== null) add('flagged = ?', request.flagged)
      const filter = where.join(' and ')
      const [countRows, rows] = await Promise.all([
        read<{ count: string }>(`select count(*) from ${t('audit_entries')} where ${filter}`, values),
        read<AuditRow>(`select ${AUDIT_COLUMNS} from ${t('audit_entries')} where ${filter} order by position limit ${request.limit} offset ${request.offset}`, values),
      ])
      const count = Number(countRows[0]?.count ?? 0)
      const next = request.offset + rows.length
      return { count, entries: rows.map(toAuditEntry), nextOffset: next < count ? next : null }
    },

    async verifyAudit(request) {
      const sessions = await read<{ audit_seq: string; audit_head: string }>(`select audit_seq, audit_head from ${t('sessions')} where id = $1 and tenant = $2`, [request.sessionId, request.tenant])
      const head = sessions[0]
      if (!head) throw new NotFoundError({ resource: 'session', id: request.sessionId })
      const rows = await read<AuditRow>(`select ${AUDIT_COLUMNS} from ${t('audit_entries')} where session_id = $1 order by position`, [request.sessionId])
      return verifyAuditChain({ auditKey: keys.auditKey, sessionId: request.sessionId, entries: rows.map(toAuditEntry), head: { seq: Number(head.audit_seq), hash: head.audit_head } })
    },

    revokeSession: (request) =>
      transaction(async (tx) => {
        const [locked] = await tx.run(sql`select * from ${S} where tenant = ${request.tenant} and (id = ${request.sessionId} or ${request.sessionId} = any(ancestors)) order by id for update`)
        const rows = locked as SessionRow[]
        if (!rows.some((row) => row.id === request.sessionId)) throw new NotFoundError({ resource: 'session', id: request.sessionId })
        const revokedAt = now()
        const revoked: string[] = []
        for (const row of rows) {
          if (row.revoked_at_ms !== null) continue
          tx.write(sql`update ${S} set revoked_at_ms = ${revokedAt} where id = ${row.id}`)
          revoked.push(row.id)
          append(tx, { row, record: toSessionRecord(row) }, auditEvents.revoked({ sessionId: row.id, revokedBy: request.sessionId, reason: request.reason }))
        }
        return { revokedSessionIds: revoked }
      }),

    async putSecret(request) {
      const sealed = cipher.seal(request.name, request.value)
      await read(
        `insert into ${t('secrets')} (tenant, name, key_id, nonce, ciphertext, tag, scope_required, updated_at_ms) values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (tenant, name) do update set key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, tag = excluded.tag,
           scope_required = excluded.scope_required, updated_at_ms = excluded.updated_at_ms`,
        [request.tenant, request.name, sealed.keyId, sealed.nonce, sealed.ciphertext, sealed.tag, request.scopeRequired, now()],
      )
    },

    readSecret: (request) =>
      transaction(async (tx) => {
        const [locked, secrets] = await tx.run(
          lockChainSql(request.tenant, request.sessionId),
          sql`select key_id, nonce, ciphertext, tag, scope_required from ${raw(t('secrets'))} where tenant = ${request.tenant} and name = ${request.name}`,
        )
        const chain = chainOf(locked as SessionRow[], request.sessionId)
        const session = chain[0] as LockedSession
        const secret = secrets?.[0] as { key_id: string; nonce: string; ciphertext: string; tag: string; scope_required: string | null } | undefined
        const scope = secret?.scope_required ?? null
        const audit = (outcome: 'ok' | 'denied' | 'error', reason: string | null) => append(tx, session, auditEvents.secretRead({ name: request.name, scope, outcome, reason }))
        const decision = decideAuthorization({ chain: chain.map((link) => link.record), levels: [], mode: 'check', scope, amountMicros: 0, now: now() })
        // Refusals are audited and committed before the typed error is thrown.
        if (!decision.allowed) {
          audit('denied', decision.reason)
          return { refused: denialToError(decision, request.sessionId) }
        }
        if (!secret) {
          audit('error', `no secret '${request.name}'`)
          return { refused: new NotFoundError({ resource: 'secret', id: request.name }) }
        }
        const value = cipher.open(request.name, { keyId: secret.key_id, nonce: secret.nonce, ciphertext: secret.ciphertext, tag: secret.tag })
        audit('ok', null)
        return { value }
      }).then((outcome) => {
        if ('refused' in outcome) throw outcome.refused
        return outcome.value
      }),

    async listSessions(request) {
      const rows = await read<SessionRow>(`select * from ${t('sessions')} where tenant = $1 order by created_at_ms desc limit $2`, [request.tenant, request.limit])
      return rows.map(toSessionRecord)
    },

    async close() {
      if (ownsPool) await pool.end()
    },
  }
}

function toBackendError(error: unknown, doing: string): HaldirError {
  if (HaldirError.isInstance(error)) return error
  const message = error instanceof Error ? error.message : String(error)
  return new BackendError({ message: `PostgreSQL backend failed while ${doing}: ${message}`, cause: error })
}

/** PostgreSQL text cannot hold NUL; the entry is sealed after this, so the hash covers what is stored. */
function noNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text
}
