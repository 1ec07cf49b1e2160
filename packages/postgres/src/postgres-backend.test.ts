import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BackendError, createHaldir, ValidationError } from '@haldir/core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrations } from './migrations.ts'
import { type PostgresBackend, postgresBackend } from './postgres-backend.ts'
import { sqlAuditTamper } from './testing/sql-audit-tamper.ts'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from './testing/test-database.ts'

const unavailable = await databaseUnavailable()
const suite = unavailable ? describe.skip : describe

suite(`postgres backend specifics${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = testSchema()
  let backend: PostgresBackend
  let pool: pg.Pool
  beforeAll(async () => {
    backend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema })
    await backend.migrate()
    pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 2 })
  })
  afterAll(async () => {
    await backend.close()
    await pool.end()
    await dropSchema(schema)
  })

  it(
    'holds one $5.00 parent budget across 4 OS processes × 250 concurrent $0.10 charges: exactly 50 pass',
    async () => {
      const haldir = createHaldir({ backend, tenant: 'multi' })
      const parent = await haldir.createSession({ agentId: 'crew', spendLimit: 5, scopes: [] })
      const worker = fileURLToPath(new URL('./charge-worker.test-helper.ts', import.meta.url))
      const runs = await Promise.all(
        [1, 2, 3, 4].map(
          () =>
            new Promise<{ ok: number; refused: number; other: number }>((resolve, reject) => {
              const child = spawn(process.execPath, ['--conditions=@haldir/source', worker, testDatabaseUrl, schema, 'multi', parent.id, '250', testMasterKey], { stdio: ['ignore', 'pipe', 'pipe'] })
              let out = ''
              let err = ''
              child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
              child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
              child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1) as string)) : reject(new Error(`worker exited ${code}: ${err}`))))
            }),
        ),
      )
      expect(runs.reduce((sum, run) => sum + run.other, 0)).toBe(0)
      expect(runs.reduce((sum, run) => sum + run.ok, 0)).toBe(50)
      expect(runs.reduce((sum, run) => sum + run.refused, 0)).toBe(950)
      expect(await haldir.getSpend(parent.id)).toMatchObject({ totalUsd: 5, reservedUsd: 0, remainingUsd: 0 })
    },
    120_000,
  )

  it('keeps audit rows append-only, and reports where a row edited in SQL breaks the chain', async () => {
    const haldir = createHaldir({ backend })
    const session = await haldir.createSession({ agentId: 'audited', spendLimit: 1 })
    for (const cost of [0.1, 0.2, 0.3]) await haldir.authorizePayment(session.id, cost)
    await expect(pool.query(`update ${schema}.audit_entries set cost_micros = 0 where session_id = $1`, [session.id])).rejects.toThrow(/append-only/)
    await expect(pool.query(`delete from ${schema}.audit_entries where session_id = $1`, [session.id])).rejects.toThrow(/append-only/)
    expect(await haldir.verifyAuditTrail(session.id)).toEqual({ ok: true, count: 4 })
    await sqlAuditTamper(pool, schema).edit(session.id, 3, { costUsd: 0.02 })
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: false, brokenAt: 3, reason: 'hash_mismatch' })
  })

  it('stores secrets only as ciphertext', async () => {
    const haldir = createHaldir({ backend })
    await haldir.storeSecret('db_password', 'pg_plaintext_never_stored', { scopeRequired: 'db_write' })
    const { rows } = await pool.query(`select * from ${schema}.secrets where name = 'db_password'`)
    expect(rows).toHaveLength(1)
    expect(JSON.stringify(rows)).not.toContain('pg_plaintext_never_stored')
    expect(rows[0]).toMatchObject({ key_id: expect.stringMatching(/^[0-9a-f]{16}$/), scope_required: 'db_write' })
    expect(Buffer.from(rows[0].nonce, 'base64')).toHaveLength(12)
    const session = await haldir.createSession({ agentId: 'dba', scopes: ['db_write'] })
    expect(await haldir.getSecret('db_password', { sessionId: session.id })).toBe('pg_plaintext_never_stored')
  })

  it('keeps sessions, spend, trail and secrets across a process restart', async () => {
    const first = createHaldir({ backend: postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema }) })
    const session = await first.createSession({ agentId: 'durable', scopes: ['read'], spendLimit: 2 })
    await first.authorizePayment(session.id, 0.75, { tool: 'llm' })
    await first.storeSecret('durable_secret', 'still-here-after-restart', { scopeRequired: 'read' })
    const hold = await first.reserve(session.id, 0.5)
    await first.close()

    const second = createHaldir({ backend: postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema }) })
    expect(await second.getSpend(session.id)).toMatchObject({ totalUsd: 0.75, reservedUsd: 0.5, byTool: { llm: 0.75 } })
    // session.create, the payment, and the reservation of the hold.
    expect(await second.verifyAuditTrail(session.id)).toEqual({ ok: true, count: 3 })
    expect(await second.getSecret('durable_secret', { sessionId: session.id })).toBe('still-here-after-restart')
    // A hold made before the restart is settled by the new process.
    await second.backend.settle({ tenant: 'default', sessionId: session.id, holdId: hold.id, amountMicros: 100_000, outcome: 'ok', action: 'execute', flagged: false, reason: null, details: {} })
    expect(await second.getSpend(session.id)).toMatchObject({ totalUsd: 0.85, reservedUsd: 0 })
    await second.close()
  })

  it('applies versioned migrations once, even when processes start together', async () => {
    const fresh = testSchema()
    const a = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema: fresh })
    const b = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema: fresh })
    try {
      const [appliedA, appliedB] = await Promise.all([a.migrate(), b.migrate()])
      // Every version applied exactly once, by one of the two starters.
      expect([...appliedA, ...appliedB].sort()).toEqual(migrations.map((migration) => migration.version))
      const { rows } = await pool.query(`select version, name from ${fresh}.haldir_migrations order by version`)
      expect(rows).toEqual(migrations.map(({ version, name }) => ({ version, name })))
      expect(await a.migrate()).toEqual([])
    } finally {
      await a.close()
      await b.close()
      await dropSchema(fresh)
    }
  })

  it('refuses to start without a master key, and reports an unreachable database as BackendError', async () => {
    const saved = process.env.HALDIR_MASTER_KEY
    delete process.env.HALDIR_MASTER_KEY
    try {
      expect(() => postgresBackend({ connectionString: testDatabaseUrl, schema })).toThrow(ValidationError)
    } finally {
      if (saved !== undefined) process.env.HALDIR_MASTER_KEY = saved
    }
    const down = postgresBackend({ connectionString: 'postgres://postgres@127.0.0.1:1/test', masterKey: testMasterKey, schema })
    const error = await createHaldir({ backend: down }).getSession('ses_x').catch((caught: unknown) => caught)
    expect(BackendError.isInstance(error)).toBe(true)
    await down.close()
  })
})
