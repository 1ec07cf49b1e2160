import { BudgetExceededError, createHaldir } from '@haldir/core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PostgresBackend, postgresBackend } from './postgres-backend.ts'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from './testing/test-database.ts'

const unavailable = await databaseUnavailable()
const suite = unavailable ? describe.skip : describe

// What the conformance suite cannot see from outside: a member's calls on its slice never write
// the crew's row, and a process deciding on a slice another process recalled is caught.
suite(`postgres slices${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = testSchema()
  const backends: PostgresBackend[] = []
  let pool: pg.Pool
  const open = (options: Partial<Parameters<typeof postgresBackend>[0]> = {}) => {
    const backend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, ...options })
    backends.push(backend)
    return backend
  }
  beforeAll(async () => {
    await open().migrate()
    pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 2 })
  })
  afterAll(async () => {
    for (const backend of backends) await backend.close()
    await pool.end()
    await dropSchema(schema)
  })

  /** The crew row's version (`xmin` moves with every write of the row) and its stored counters. */
  async function crewRow(id: string) {
    const { rows } = await pool.query(`select xmin::text as version, spent_micros, reserved_micros, held_micros from ${schema}.sessions where id = $1`, [id])
    return rows[0] as { version: string; spent_micros: string; reserved_micros: string; held_micros: string }
  }

  it("leaves the crew's row untouched while its members' slices cover their calls", async () => {
    const haldir = createHaldir({ backend: open(), tenant: 'quiet' })
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 100 })
    const members = await Promise.all([1, 2, 3].map((index) => haldir.createSession({ agentId: `member-${index}`, scopes: ['search'], parentId: crew.id })))
    for (const member of members) await haldir.authorizePayment(member.id, 0.01, { tool: 'search' })
    await haldir.flush()
    const before = await crewRow(crew.id)
    expect(Number(before.held_micros)).toBe(3 * 330_000)
    // 30 more calls each, concurrently, charged and reserved-then-settled.
    await Promise.all(
      members.flatMap((member) =>
        Array.from({ length: 15 }, async () => {
          await haldir.authorizePayment(member.id, 0.01, { tool: 'search' })
          const hold = await haldir.reserve(member.id, 0.01, { tool: 'llm' })
          await hold.settle(0.005)
        }),
      ),
    )
    await haldir.flush()
    expect(await crewRow(crew.id)).toEqual(before)
    expect(await haldir.getSpend(crew.id)).toMatchObject({ totalUsd: 0.03 + 0.45 + 0.225, reservedUsd: 0, byTool: { search: 0.48, llm: 0.225 } })
    expect(await haldir.verifyAuditTrail(crew.id)).toMatchObject({ ok: true })
  })

  it('writes the crew row on every call with slices off', async () => {
    const haldir = createHaldir({ backend: open({ slices: false }), tenant: 'loud', settle: 'inline' })
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 100 })
    const member = await haldir.createSession({ agentId: 'member', scopes: ['search'], parentId: crew.id })
    const versions = new Set<string>()
    for (let index = 1; index <= 3; index++) {
      await haldir.authorizePayment(member.id, 0.01)
      const row = await crewRow(crew.id)
      versions.add(row.version)
      expect(Number(row.spent_micros)).toBe(index * 10_000)
    }
    expect(versions.size).toBe(3)
  })

  it('never draws on a slice another process recalled: the stale decision is caught and decided again', async () => {
    // Two processes on one database; each remembers the rows it wrote last.
    const first = createHaldir({ backend: open(), tenant: 'two', settle: 'inline' })
    const second = createHaldir({ backend: open(), tenant: 'two', settle: 'inline' })
    const crew = await first.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 1 })
    const here = await first.createSession({ agentId: 'here', scopes: ['search'], parentId: crew.id })
    const there = await second.createSession({ agentId: 'there', scopes: ['search'], parentId: crew.id })
    await first.authorizePayment(here.id, 0.1)
    // `here` now holds a slice its process remembers; the other process spends the rest of the
    // crew, which recalls that slice when the crew would refuse.
    let spentThere = 0
    while (!BudgetExceededError.isInstance(await second.authorizePayment(there.id, 0.1).then(() => null, (error: unknown) => error))) spentThere++
    expect(spentThere).toBe(9)
    const late = await first.authorizePayment(here.id, 0.1).then(() => null, (error: unknown) => error)
    expect(BudgetExceededError.isInstance(late)).toBe(true)
    expect(await first.getSpend(crew.id)).toMatchObject({ totalUsd: 1, reservedUsd: 0, remainingUsd: 0 })
    const row = await crewRow(crew.id)
    expect(Number(row.spent_micros) + Number(row.reserved_micros)).toBeLessThanOrEqual(1_000_000)
  })

  it('refuses, in the database itself, a slice that would go below zero', async () => {
    const haldir = createHaldir({ backend: open(), tenant: 'check' })
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 1 })
    const member = await haldir.createSession({ agentId: 'member', scopes: ['search'], parentId: crew.id })
    await haldir.authorizePayment(member.id, 0.1)
    await expect(pool.query(`update ${schema}.sessions set slice_free_micros = -1 where id = $1`, [member.id])).rejects.toThrow(/sessions_slice_check/)
    await expect(pool.query(`update ${schema}.sessions set held_micros = reserved_micros + 1 where id = $1`, [crew.id])).rejects.toThrow(/sessions_slice_check/)
  })
})
