// Governed calls per second on PostgreSQL at concurrency 1/16/64 vs the memory backend, in
// the same run. Target (issue #7): ≥ 2,000 governed calls/s.
// Two shapes: independent agents (one root session per worker) and a crew (every worker's
// session under one parent, so every call locks the same crew row: the contended case).
// Each shape runs three ways in turn: the locked path (what a governed call was before issue
// #18), the one-round-trip path with inline settles (the defaults), and one round trip with
// settles deferred (calls/s counts until every settle has landed).
import { createHaldir, type Haldir, withHaldir } from '@haldir/core'
import { postgresBackend } from '@haldir/postgres'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from '@haldir/postgres/testing'
import { measureConcurrent, report } from './measure.ts'

const unavailable = await databaseUnavailable()
if (unavailable) {
  console.log(`postgres bench skipped: ${unavailable}`)
} else {
  const total = Number(process.env.BENCH_PG_CALLS ?? 6_000)
  const schema = testSchema()
  const backend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 32 })
  await backend.migrate()
  const postgres = createHaldir({ backend, settle: 'deferred' })
  const postgresInline = createHaldir({ backend })
  const lockedBackend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 32, optimistic: false })
  const locked = createHaldir({ backend: lockedBackend, settle: 'inline' })
  const memory = createHaldir()

  async function run(haldir: Haldir, label: string, concurrency: number, shape: 'agents' | 'crew') {
    const crew = shape === 'crew' ? await haldir.createSession({ agentId: 'crew', scopes: ['search'], spendLimit: 1_000_000, ttl: 86_400 }) : null
    const calls = await Promise.all(
      Array.from({ length: concurrency }, async (_, index) => {
        const session = await haldir.createSession({ agentId: `agent-${index}`, scopes: ['search'], spendLimit: 1_000_000, ttl: 86_400, parentId: crew?.id ?? null })
        return withHaldir(async (query: string) => ({ query }), { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.001 })
      }),
    )
    let next = 0
    const measured = await measureConcurrent(`${label}, ${shape}, concurrency ${concurrency}`, () => (calls[next++ % calls.length] as (query: string) => Promise<unknown>)('q'), { total, concurrency, warmup: 200 })
    // Settles still queued are part of the work: their time counts.
    const started = performance.now()
    await haldir.flush()
    const seconds = total / measured.callsPerSecond + (performance.now() - started) / 1000
    return { ...measured, callsPerSecond: Math.round(total / seconds) }
  }

  const baseline = await run(memory, 'memory', 16, 'agents')
  const rows = []
  for (const shape of ['agents', 'crew'] as const)
    for (const concurrency of [1, 16, 64]) {
      rows.push(await run(locked, 'postgres locked, inline settle', concurrency, shape))
      rows.push(await run(postgresInline, 'postgres one round trip, inline settle (default)', concurrency, shape))
      rows.push(await run(postgres, 'postgres one round trip, deferred settle', concurrency, shape))
    }
  report('governed call (gate + settle): PostgreSQL vs memory backend', baseline, rows)
  await backend.close()
  await lockedBackend.close()
  await dropSchema(schema)
}
