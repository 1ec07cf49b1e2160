// A governed call with 2 budget windows (a calendar day in a zone, a rolling hour) and 1 rate
// limit active vs the same call on a session without controls, in the same run, interleaved.
// Targets (issue "Budgets that reset, rate limits …"): ≤ 1.3× on memory, ≤ 1.1× on PostgreSQL.
import { createHaldir, type Haldir, memoryBackend, withHaldir } from '@haldir/core'
import { postgresBackend } from '@haldir/postgres'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from '@haldir/postgres/testing'
import { interleaved, measure, measureConcurrent, report } from './measure.ts'

const calls = Number(process.env.BENCH_CALLS ?? 50_000)
const controls = {
  windows: [
    { period: 'day' as const, limit: 1_000_000, timeZone: 'Europe/Berlin' },
    { rolling: 3600, limit: 1_000_000 },
  ],
  rateLimits: [{ calls: 1_000_000_000, per: 60 }],
}

async function governed(haldir: Haldir, withControls: boolean) {
  const session = await haldir.createSession({ agentId: 'bench', scopes: ['search'], spendLimit: null, ttl: 24 * 3600, ...(withControls ? controls : {}) })
  return withHaldir(async (query: string) => ({ query }), { haldir, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.001 })
}

{
  const haldir = createHaldir({ backend: memoryBackend({ maxTenantBytes: Number.MAX_SAFE_INTEGER }) })
  const plain = await governed(haldir, false)
  const controlled = await governed(haldir, true)
  const [none, active] = await interleaved([
    { name: 'memory, no controls', run: () => measure('memory, no controls', () => plain('q'), { calls }) },
    { name: 'memory, 2 windows + 1 rate limit', run: () => measure('memory, 2 windows + 1 rate limit', () => controlled('q'), { calls }) },
  ])
  report('controls: governed call on memory (interleaved rounds, medians)', none as never, [active as never])
}

const unavailable = await databaseUnavailable()
if (unavailable) {
  console.log(`postgres part skipped: ${unavailable}`)
} else {
  const schema = testSchema()
  const backend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 16 })
  await backend.migrate()
  const haldir = createHaldir({ backend })
  const total = Number(process.env.BENCH_PG_CALLS ?? 3_000)
  // Concurrency 16, one session per worker: the database's commits are the cost, as in production.
  const workers = async (withControls: boolean) => Promise.all(Array.from({ length: 16 }, () => governed(haldir, withControls)))
  const plain = await workers(false)
  const controlled = await workers(true)
  let next = 0
  const [none, active] = await interleaved([
    { name: 'postgres c=16, no controls', run: () => measureConcurrent('postgres c=16, no controls', () => (plain[next++ % 16] as (q: string) => Promise<unknown>)('q'), { total, concurrency: 16, warmup: 100 }) },
    {
      name: 'postgres c=16, 2 windows + 1 rate limit',
      run: () => measureConcurrent('postgres c=16, 2 windows + 1 rate limit', () => (controlled[next++ % 16] as (q: string) => Promise<unknown>)('q'), { total, concurrency: 16, warmup: 100 }),
    },
  ])
  report('controls: governed call on PostgreSQL (interleaved rounds, medians)', none as never, [active as never])
  await backend.close()
  await dropSchema(schema)
}
