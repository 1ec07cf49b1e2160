// Governed calls per second on PostgreSQL at concurrency 1/16/64 vs the memory backend, in
// the same run. Targets: issue #7 ≥ 2,000 calls/s; issue #18 ≥ 4× the previous commit at c=64 for
// independent agents and ≥ 3× under one crew.
// Two shapes: independent agents (one root session per worker) and a crew (every worker's
// session under one parent, so every call locks the same crew row: the contended case).
// Each shape runs every way in turn: the locked path (a governed call before issue #18), the
// one-round-trip path ungrouped (the commit before group commit), and group commit with inline
// and deferred settles (deferred is the default; calls/s counts until every settle has landed),
// the default without escrowed slices (a crew's members then all write the crew's row), and the default.
// HALDIR_BASELINE=<built checkout> adds an earlier commit with its own defaults. Use BENCH_PG_ROUNDS=3, and check
// the slot against a checkout of this very commit first: here that measured 14–16% below this
// run's own default way. BENCH_PG_GROUPS=1,2 adds group commit with 2 operations in flight;
// BENCH_PG_SHAPES, BENCH_PG_CONCURRENCY, BENCH_PG_CALLS, BENCH_PG_ROUNDS and BENCH_PG_WAYS narrow or widen the run.
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
  const migrator = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema })
  await migrator.migrate()
  await migrator.close()
  const variants = (process.env.BENCH_PG_GROUPS ?? '1').split(',').map(Number)
  // The ways before slices lock the whole chain on every call, as they did then. Four pools of 24
  // stay under the server's 100 connections (idle connections of earlier ways linger).
  const lockedBackend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 24, optimistic: false, group: false, slices: false })
  const ungroupedBackend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 24, group: false, slices: false })
  const unslicedBackend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 24, slices: false })
  const groupedBackends = variants.map((inFlight) => postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 24, group: { inFlight } }))
  // HALDIR_BASELINE=<a built checkout of an earlier commit>: that commit's client and backend, with its defaults, as a way of its own.
  const baselinePath = process.env.HALDIR_BASELINE
  const baseline = baselinePath
    ? {
        core: (await import(`${baselinePath}/packages/core/dist/index.js`)) as { createHaldir: typeof createHaldir },
        postgres: (await import(`${baselinePath}/packages/postgres/dist/index.js`)) as { postgresBackend: typeof postgresBackend },
      }
    : null
  const baselineBackend = baseline?.postgres.postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 24 })
  const ways: [string, Haldir][] = [
    ...(baseline && baselineBackend ? [[`previous commit (${baselinePath?.split('/').pop()}), its defaults`, baseline.core.createHaldir({ backend: baselineBackend })] as [string, Haldir]] : []),
    ['locked, inline settle (before #18)', createHaldir({ backend: lockedBackend, settle: 'inline' })],
    ['one round trip, ungrouped, inline settle', createHaldir({ backend: ungroupedBackend, settle: 'inline' })],
    ['grouped, deferred settle, no slices (before slices)', createHaldir({ backend: unslicedBackend, settle: 'deferred' })],
    ...groupedBackends.flatMap((grouped, index): [string, Haldir][] => [
      [`grouped (${variants[index]} in flight), inline settle`, createHaldir({ backend: grouped, settle: 'inline' })],
      [`grouped (${variants[index]} in flight), deferred settle${index === 0 ? ' (default)' : ''}`, createHaldir({ backend: grouped, settle: 'deferred' })],
    ]),
  ]
  const memory = createHaldir()

  async function run(haldir: Haldir, label: string, concurrency: number, shape: 'agents' | 'crew') {
    const crew = shape === 'crew' ? await haldir.createSession({ agentId: 'crew', scopes: ['search'], spendLimit: 1_000_000, ttl: 86_400 }) : null
    const calls = await Promise.all(
      Array.from({ length: concurrency }, async (_, index) => {
        const session = await haldir.createSession({ agentId: `agent-${index}`, scopes: ['search'], spendLimit: 1_000_000, ttl: 86_400, parentId: crew?.id ?? null })
        return withHaldir(async (query: string) => ({ query }), { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.001 })
      }),
    )
    // Fresh tables have no statistics (and this machine runs no autovacuum): without them the
    // planner picks the plans of an empty table. Every variant measures on analyzed tables.
    await lockedBackend.pool.query(`analyze ${schema}.sessions; analyze ${schema}.holds; analyze ${schema}.audit_entries`)
    let next = 0
    const measured = await measureConcurrent(`${label}, ${shape}, concurrency ${concurrency}`, () => (calls[next++ % calls.length] as (query: string) => Promise<unknown>)('q'), { total, concurrency, warmup: 200 })
    // Settles still queued are part of the work: their time counts.
    const started = performance.now()
    await haldir.flush()
    const seconds = total / measured.callsPerSecond + (performance.now() - started) / 1000
    return { ...measured, callsPerSecond: Math.round(total / seconds) }
  }

  const memoryRow = await run(memory, 'memory', 16, 'agents')
  const rows = []
  const shapes = (process.env.BENCH_PG_SHAPES ?? 'agents,crew').split(',') as ('agents' | 'crew')[]
  const concurrencies = (process.env.BENCH_PG_CONCURRENCY ?? '1,16,64').split(',').map(Number)
  // BENCH_PG_ROUNDS=n: each shape and concurrency n times, the ways in a rotated order each round
  // (no way always goes first, on a cold pool), each way's median calls/s reported.
  // BENCH_PG_WAYS=a,b: only the ways whose label contains one of these.
  const rounds = Number(process.env.BENCH_PG_ROUNDS ?? 1)
  const only = process.env.BENCH_PG_WAYS?.split(',')
  const chosen = only ? ways.filter(([label]) => only.some((part) => label.includes(part))) : ways
  for (const shape of shapes)
    for (const concurrency of concurrencies) {
      const measured = chosen.map((): Awaited<ReturnType<typeof run>>[] => [])
      for (let round = 0; round < rounds; round++) {
        for (let step = 0; step < chosen.length; step++) {
          const index = (step + round) % chosen.length
          const [label, haldir] = chosen[index] as [string, Haldir]
          measured[index]?.push(await run(haldir, `postgres ${label}`, concurrency, shape))
        }
      }
      for (const each of measured) {
        const sorted = [...each].sort((a, b) => a.callsPerSecond - b.callsPerSecond)
        const median = sorted[Math.floor(sorted.length / 2)]
        if (median) rows.push({ ...median, name: rounds > 1 ? `${median.name} (median of ${rounds}: ${each.map((row) => row.callsPerSecond).join(', ')})` : median.name })
      }
    }
  report('governed call (gate + settle): PostgreSQL vs memory backend', memoryRow, rows)
  for (const backend of [lockedBackend, ungroupedBackend, unslicedBackend, ...groupedBackends, ...(baselineBackend ? [baselineBackend] : [])]) await backend.close()
  await dropSchema(schema)
}
