import { createHaldir, withHaldir } from '@haldir/core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PostgresBackend, postgresBackend } from './postgres-backend.ts'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from './testing/test-database.ts'

const unavailable = await databaseUnavailable()
const suite = unavailable ? describe.skip : describe

/** A pool that keeps the messages (round trips) sent on its connections. */
function countingPool() {
  const pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 4 })
  const sent: string[] = []
  const counted = new WeakSet<object>()
  const connect = pool.connect.bind(pool)
  const count = (client: pg.PoolClient) => {
    // The pool hands the same client out again: count its messages once.
    if (counted.has(client)) return client
    counted.add(client)
    const query = client.query.bind(client)
    client.query = ((...args: Parameters<typeof client.query>) => {
      sent.push(String(args[0]))
      return (query as (...rest: unknown[]) => unknown)(...args)
    }) as typeof client.query
    return client
  }
  // pg's own pool.query connects with a callback; the store awaits the promise form.
  pool.connect = ((callback?: (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void) => {
    if (!callback) return connect().then(count)
    return connect((error, client, done) => callback(error, client && count(client), done))
  }) as typeof pool.connect
  return { pool, messages: () => sent.length, sent }
}

suite(`one round trip on rows this process wrote${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = testSchema()
  let backend: PostgresBackend
  let other: PostgresBackend
  let counting: ReturnType<typeof countingPool>
  beforeAll(async () => {
    counting = countingPool()
    backend = postgresBackend({ pool: counting.pool, masterKey: testMasterKey, schema })
    await backend.migrate()
    // A second process, as far as caches go: same database, its own backend.
    other = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema })
  })
  afterAll(async () => {
    await backend.close()
    await counting.pool.end()
    await other.close()
    await dropSchema(schema)
  })

  it('a governed call on a session it knows is one message for the gate and one for the settle; the locked path is two each', async () => {
    // Inline settles: each operation alone on its session, so the count is exact.
    const haldir = createHaldir({ backend, tenant: 'fast', settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['search'], spendLimit: 5 })
    const search = withHaldir(async (query: string) => query, { haldir, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.01 })
    await search('warm')
    const before = counting.messages()
    for (let index = 0; index < 10; index++) await search('q')
    expect(counting.messages() - before).toBe(20)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.11, reservedUsd: 0 })
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })

    const locked = createHaldir({ backend: postgresBackend({ pool: counting.pool, masterKey: testMasterKey, schema, optimistic: false }), tenant: 'fast', settle: 'inline' })
    const slow = withHaldir(async (query: string) => query, { haldir: locked, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.01 })
    await slow('warm')
    const lockedBefore = counting.messages()
    await slow('q')
    expect(counting.messages() - lockedBefore).toBe(4)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.13, reservedUsd: 0 })
    // The first backend's snapshot is stale now: its next call fails the check and is decided locked.
    const after = counting.messages()
    await search('q')
    expect(counting.messages() - after).toBeGreaterThan(2)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.14, reservedUsd: 0 })
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
  })

  it('rows another process changed fail the check, nothing is written, and the call is decided locked, correctly', async () => {
    const haldir = createHaldir({ backend, tenant: 'shared' })
    const elsewhere = createHaldir({ backend: other, tenant: 'shared' })
    const session = await haldir.createSession({ agentId: 'b', scopes: [], spendLimit: 1 })
    await haldir.authorizePayment(session.id, 0.5)
    // The other process spends what this one still believes is there.
    await elsewhere.authorizePayment(session.id, 0.4)
    const refused = await haldir.authorizePayment(session.id, 0.2).catch((error: unknown) => error)
    expect(refused).toMatchObject({ code: 'budget_exceeded', spentUsd: 0.9 })
    await haldir.authorizePayment(session.id, 0.1)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 1, reservedUsd: 0 })
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
    // Revoked elsewhere: the snapshot's live session is refused, by the locked path.
    await elsewhere.revokeSession(session.id)
    expect(await haldir.authorizePayment(session.id, 0.01).catch((error: unknown) => error)).toMatchObject({ code: 'session_revoked' })
  })

  it('calls of this process that share a chain under way do not gamble on one snapshot: at most the first decides on it', async () => {
    const haldir = createHaldir({ backend, tenant: 'crew' })
    const crew = await haldir.createSession({ agentId: 'crew', scopes: [], spendLimit: 100 })
    const members = await Promise.all(Array.from({ length: 8 }, (_, index) => haldir.createSession({ agentId: `m${index}`, scopes: [], spendLimit: 10, parentId: crew.id })))
    for (const member of members) await haldir.authorizePayment(member.id, 0.01)
    const before = counting.messages()
    const rounds = 5
    for (let round = 0; round < rounds; round++) await Promise.all(members.map((member) => haldir.authorizePayment(member.id, 0.01)))
    // The call that found the chain idle decides on the snapshot; the seven that waited behind it
    // share the crew row, so they are decided in turn as one group on the rows it left, in one
    // message. Deciding all eight independently on one snapshot would fail seven checks a round.
    const sent = counting.sent.slice(before)
    const checks = sent.filter((text) => text.startsWith('begin;\nexecute ') && text.includes('_guard_sessions(')).length
    const failed = sent.filter((text) => text === 'rollback').length
    expect(checks).toBeGreaterThanOrEqual(1)
    expect(checks).toBeLessThanOrEqual(rounds * 2)
    expect(failed).toBeLessThanOrEqual(rounds)
    expect(sent.length).toBeLessThanOrEqual(rounds * members.length * 2 + failed * 2)
    expect(await haldir.getSpend(crew.id)).toMatchObject({ totalUsd: 0.48, reservedUsd: 0 })
  })

  it('two processes racing on one chain never overspend it', async () => {
    const haldir = createHaldir({ backend, tenant: 'race' })
    const elsewhere = createHaldir({ backend: other, tenant: 'race' })
    const crew = await haldir.createSession({ agentId: 'crew', scopes: [], spendLimit: 5 })
    await elsewhere.getSession(crew.id)
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, index) => (index % 2 ? haldir : elsewhere).authorizePayment(crew.id, 0.1)))
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(50)
    expect(await haldir.getSpend(crew.id)).toMatchObject({ totalUsd: 5 })
    expect(await haldir.verifyAuditTrail(crew.id)).toMatchObject({ ok: true })
  })
})
