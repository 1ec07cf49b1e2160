import {
  type SessionControls,
  type SessionUsage,
  type ApprovalRuleRecord,
  type AuditPage,
  type Decision,
  type LoadedState,
  type LoadRequest,
  type SessionRecord,
  type StateStore,
  decidesElsewhere,
} from '@haldir/core/backend'
import pg from 'pg'
import { applyStatements } from './apply-statements.ts'
import { postgresLedger } from './postgres-ledger.ts'
import { type Operation, optimisticState } from './optimistic-state.ts'
import { inBatchedTransaction } from './batched-transaction.ts'
import { type GroupCommitOptions, groupCommit } from './group-commit.ts'
import { type SecretRow, toLoadedState, toStoredSecret } from './to-loaded-state.ts'
import { type LoadPart, loadStatements, type Tables, tablesOf } from './load-statements.ts'
import { AUDIT_COLUMNS, type AuditRow, type HoldRow, type SessionRow, toAuditEntry, toHoldRecord, toSessionRecord } from './rows.ts'
import { connectTo } from './connect-to.ts'
import { readInSnapshot, type SnapshotQuery } from './read-in-snapshot.ts'
import { snapshotGuards } from './snapshot-guards.ts'
import { toBackendError } from './to-backend-error.ts'

/**
 * Haldir's state in PostgreSQL: the engine's store. An operation is one transaction of two round
 * trips: `begin` with the statements that lock and load (the session rows `for update`, in id
 * order, so concurrent transactions never deadlock), then the writes with `commit`; one round trip
 * on rows this process wrote last (`optimistic-state.ts`); and under load, operations that wait
 * together share one transaction (`group-commit.ts`). A check
 * constraint on every session row backs `spent + reserved ≤ limit` in the database itself.
 */
export function postgresStore(options: { pool: pg.Pool; schema: string; ready: () => Promise<unknown>; ownsPool: boolean; optimistic?: boolean; group?: false | GroupCommitOptions; preparedStatements?: boolean }): StateStore {
  const { pool, schema } = options
  const tables = tablesOf(schema, { prepare: options.preparedStatements ?? true })
  const known = options.optimistic === false ? null : optimisticState()
  // Connections with the governed call's statements prepared on them.
  const source = tables.prepared.source(pool)
  const t = (table: string) => `${schema}.${table}`

  async function read<T extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<T[]> {
    await options.ready()
    try {
      return (await pool.query<T>(text, values)).rows
    } catch (error) {
      throw toBackendError(error, 'reading')
    }
  }

  function once<T>(request: LoadRequest, decide: (state: LoadedState) => Decision<T>, operation: Operation | undefined): Promise<Decision<T>> {
    return inBatchedTransaction(source, async (transaction) => {
      const { parts, statements } = loadStatements(tables, request)
      const results = statements.length > 0 ? await transaction.run(...statements) : []
      const rowsOf = (part: LoadPart) => (results[parts.indexOf(part)] ?? []) as Record<string, unknown>[]
      const state = toLoadedState(request, rowsOf)
      operation?.track(state)
      const decision = decide(state)
      for (const statement of applyStatements(tables, decision.changes)) transaction.write(statement)
      return { decision, state }
    }).then(({ decision, state }) => {
      // Committed: these rows are now what this process knows of them.
      operation?.learn(state, decision.changes)
      return decision
    })
  }

  /**
   * The one-round-trip path: decide on what this process last wrote, then lock, check and apply
   * in a single message. `undefined` when it does not apply (rows unknown here, a refusal to
   * decide on fresh rows, or the rows changed under us): the locked path decides then.
   */
  async function optimistically<T>(load: LoadRequest, operation: Operation, state: LoadedState, decide: (state: LoadedState) => Decision<T>): Promise<Decision<T> | undefined> {
    let decision: Decision<T>
    try {
      decision = decide(state)
    } catch (error) {
      // A call its slice does not cover goes over its chain: the engine takes it there at once.
      if (decidesElsewhere(error)) throw error
      // Perhaps only the snapshot's fault (a hold closed elsewhere): the locked path decides.
      return undefined
    }
    // A refusal (or a call sent to a person) may owe itself to what the snapshot leaves out
    // (holds whose lease ended): only the locked path refuses.
    const value = decision.value as { allowed?: unknown } | undefined
    if (decision.error !== undefined || value?.allowed === false) return undefined
    const guards = snapshotGuards(tables, load.tenant, [state], [load])
    if (!guards) return undefined
    const statements = ['begin', ...guards, ...applyStatements(tables, decision.changes), 'commit']
    const client = await connectTo(source)
    try {
      await client.query(statements.join(';\n'))
    } catch (error) {
      operation.forget()
      if (!(error instanceof pg.DatabaseError)) {
        // The connection failed: whether the commit happened is unknown, so deciding again could
        // charge twice. Reported, as the locked path reports a lost commit.
        client.release(true)
        throw toBackendError(error, 'writing')
      }
      // The server refused a statement (the guard's 1/0, a constraint): nothing was committed,
      // the locked path decides on the rows as they are.
      await client.query('rollback').catch(() => {})
      client.release()
      return undefined
    }
    client.release()
    operation.learn(state, decision.changes)
    return decision
  }

  async function single<T>(request: LoadRequest, decide: (state: LoadedState) => Decision<T>): Promise<T> {
    await options.ready()
    const operation = known?.enter(request)
    try {
      const quick = operation?.state ? await optimistically(request, operation, operation.state, decide) : undefined
      if (quick) return quick.value as never
      let decision: Decision<never>
      try {
        decision = (await once(request, decide, operation)) as Decision<never>
      } catch (error) {
        // Two first uses of one idempotency key raced (on different sessions): decide again, now
        // seeing the winner's record.
        if (!isIdempotencyRace(error, tables)) throw error
        decision = (await once(request, decide, operation)) as Decision<never>
      }
      // The refusal's changes are committed; now it is reported.
      if (decision.error) throw decision.error
      return decision.value as never
    } finally {
      operation?.done()
    }
  }

  /** Reads that must agree, from one snapshot (once the schema is ready). */
  async function inSnapshot<T>(work: (query: SnapshotQuery) => Promise<T>): Promise<T> {
    await options.ready()
    return readInSnapshot(pool, work)
  }

  // Under load, operations waiting together are decided in one transaction (one commit).
  const transact = options.group === false ? single : groupCommit({ source, tables, known, single, ...options.group })
  return {
    name: 'postgres',
    ...postgresLedger({ pool, schema, read, inSnapshot }),

    async transact(request, decide) {
      // Before anything is grouped: a group's transaction does not wait for the schema itself.
      await options.ready()
      return transact(request, decide)
    },

    async readSession(tenant, sessionId) {
      const rows = await read<SessionRow>(`select * from ${t('sessions')} where id = $1 and tenant = $2`, [sessionId, tenant])
      return rows[0] ? toSessionRecord(rows[0]) : null
    },

    async readSpend(tenant, sessionId) {
      // One statement, one snapshot: the descendants' slices are counted where their money went
      // (spent from, or free: out of reserved) as of the same instant as the row itself.
      const rows = await read<{
        spent_micros: string
        reserved_micros: string
        limit_micros: string | null
        by_tool: Record<string, number>
        controls: SessionControls | null
        usage: SessionUsage | null
        slice_spent: string
        slice_back: string
        slice_tools: Record<string, number>[] | null
      }>(
        `select s.spent_micros, s.reserved_micros, s.limit_micros, s.by_tool, s.controls, s.usage, d.slice_spent, d.slice_back, d.slice_tools
         from ${t('sessions')} s left join lateral (
           select coalesce(sum(slice_spent_micros), 0) as slice_spent, coalesce(sum(slice_free_micros + slice_spent_micros), 0) as slice_back,
                  jsonb_agg(slice_by_tool) filter (where slice_spent_micros <> 0) as slice_tools
           from ${t('sessions')} where tenant = s.tenant and ancestors @> array[s.id] and s.held_micros > 0 and (slice_free_micros <> 0 or slice_spent_micros <> 0)
         ) d on true
         where s.id = $1 and s.tenant = $2`,
        [sessionId, tenant],
      )
      const row = rows[0]
      if (!row) return null
      const byTool = { ...row.by_tool }
      for (const tools of row.slice_tools ?? []) for (const [tool, micros] of Object.entries(tools)) byTool[tool] = (byTool[tool] ?? 0) + Number(micros)
      return {
        spentMicros: Number(row.spent_micros) + Number(row.slice_spent ?? 0),
        reservedMicros: Number(row.reserved_micros) - Number(row.slice_back ?? 0),
        limitMicros: row.limit_micros === null ? null : Number(row.limit_micros),
        byTool,
        controls: row.controls,
        usage: row.usage,
      }
    },

    async readTrail(tenant, sessionId) {
      // The head and the entries from one snapshot: a settle landing between two reads would look like a broken chain.
      return inSnapshot(async (query) => {
        const head = (await query<{ audit_seq: string; audit_head: string }>(`select audit_seq, audit_head from ${t('sessions')} where id = $1 and tenant = $2`, [sessionId, tenant]))[0]
        if (!head) return null
        const rows = await query<AuditRow>(`select ${AUDIT_COLUMNS} from ${t('audit_entries')} where session_id = $1 order by position`, [sessionId])
        return { entries: rows.map(toAuditEntry), head: { seq: Number(head.audit_seq), hash: head.audit_head } }
      })
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
      // The secret and the tenant's config version move together (masks follow the version).
      await read(
        `with put as (
           insert into ${t('secrets')} (tenant, name, key_id, nonce, ciphertext, tag, scope_required, updated_at_ms, format) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           on conflict (tenant, name) do update set key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, tag = excluded.tag,
             scope_required = excluded.scope_required, updated_at_ms = excluded.updated_at_ms, format = excluded.format
           returning 1)
         insert into ${t('config_versions')} (tenant, version) select $1, 1 from put
         on conflict (tenant) do update set version = ${t('config_versions')}.version + 1`,
        [tenant, secret.name, sealed.keyId, sealed.nonce, sealed.ciphertext, sealed.tag, secret.scopeRequired, updatedAt, sealed.format ?? 1],
      )
    },

    async listSecrets(tenant) {
      const rows = await read<SecretRow & { version: string }>(
        `select v.version, s.name, s.key_id, s.nonce, s.ciphertext, s.tag, s.scope_required, s.format
         from ${t('config_versions')} v join ${t('secrets')} s on s.tenant = v.tenant where v.tenant = $1`,
        [tenant],
      )
      if (rows.length === 0) {
        const versions = await read<{ version: string }>(`select version from ${t('config_versions')} where tenant = $1`, [tenant])
        return { version: versions[0]?.version ?? null, secrets: [] }
      }
      return { version: String(rows[0]?.version), secrets: rows.map(toStoredSecret) }
    },

    async putApprovalRule(tenant, rule, createdAt) {
      await read(
        `with put as (insert into ${t('approval_rules')} (tenant, id, rule, created_at_ms) values ($1, $2, $3, $4) returning 1)
         insert into ${t('config_versions')} (tenant, version) select $1, 1 from put
         on conflict (tenant) do update set version = ${t('config_versions')}.version + 1`,
        [tenant, rule.id, JSON.stringify(rule), createdAt],
      )
    },

    async deleteApprovalRule(tenant, ruleId) {
      const rows = await read<{ removed: number }>(
        `with gone as (delete from ${t('approval_rules')} where tenant = $1 and id = $2 returning 1),
              moved as (insert into ${t('config_versions')} (tenant, version) select $1, 1 from gone
                        on conflict (tenant) do update set version = ${t('config_versions')}.version + 1 returning 1)
         select count(*)::int as removed from gone`,
        [tenant, ruleId],
      )
      return (rows[0]?.removed ?? 0) > 0
    },

    async listApprovalRules(tenant) {
      const rows = await read<{ rule: ApprovalRuleRecord }>(`select rule from ${t('approval_rules')} where tenant = $1 order by position`, [tenant])
      return rows.map((row) => row.rule)
    },

    async readApproval(tenant, approvalId) {
      const rows = await read<HoldRow>(`select * from ${t('holds')} where tenant = $1 and approval_id = $2`, [tenant, approvalId])
      return rows[0] ? toHoldRecord(rows[0]) : null
    },

    async listApprovals(tenant, filter) {
      const rows = await read<HoldRow>(
        `select * from ${t('holds')} where tenant = $1 and approval_id is not null and ($2::text is null or approval ->> 'status' = $2)
           and ($3::text is null or session_id = $3) and (not $4 or settled_entry_id is null)
         order by created_at_ms desc, id desc limit $5`,
        [tenant, filter.status, filter.sessionId, filter.openOnly, filter.limit],
      )
      return rows.map(toHoldRecord)
    },

    async deleteSecret(tenant, name) {
      // The removal and the tenant's config version move together, as on a store.
      const rows = await read(
        `with gone as (delete from ${t('secrets')} where tenant = $1 and name = $2 returning 1)
         insert into ${t('config_versions')} (tenant, version) select $1, 1 from gone
         on conflict (tenant) do update set version = ${t('config_versions')}.version + 1
         returning 1`,
        [tenant, name],
      )
      return rows.length > 0
    },

    async readHold(tenant, holdId) {
      const rows = await read<HoldRow>(`select * from ${t('holds')} where id = $1 and tenant = $2`, [holdId, tenant])
      return rows[0] ? toHoldRecord(rows[0]) : null
    },

    async listHolds(tenant, sessionId, limit) {
      const rows = await read<HoldRow>(
        `select * from ${t('holds')} where tenant = $1 and settled_entry_id is null and ($2::text is null or session_id = $2) order by created_at_ms, id limit $3`,
        [tenant, sessionId, limit],
      )
      return rows.map(toHoldRecord)
    },

    async findExpiredHolds(tenant, at, limit) {
      const rows = await read<HoldRow>(`select * from ${t('holds')} where tenant = $1 and settled_entry_id is null and expires_at_ms <= $2 order by expires_at_ms limit $3`, [tenant, at, limit])
      return rows.map(toHoldRecord)
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

function isIdempotencyRace(error: unknown, tables: Tables): boolean {
  const cause = (error as { cause?: { code?: string; constraint?: string; table?: string } } | undefined)?.cause
  return cause?.code === '23505' && cause.table === tables.idempotency.text.split('.')[1]
}
