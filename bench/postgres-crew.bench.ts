// One crew, many processes: what escrowed slices are for. Every process (a server, a worker) runs
// members of one crew; without slices every governed call of every process locks and writes the
// crew's row, so the processes queue on it (group commit batches only within a process). With
// slices (the default) a member's calls write its own row and touch the crew's only to refill.
// Rounds interleave slices off and on, each round a fresh crew; the figure is crew-wide calls/s
// (all processes' calls over the slowest process's time, settles included), medians of the rounds.
// BENCH_CREW_PROCESSES (4), BENCH_CREW_CALLS per process (1500), BENCH_CREW_CONCURRENCY per process (16), BENCH_CREW_ROUNDS (3).
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createHaldir } from '@haldir/core'
import { postgresBackend } from '@haldir/postgres'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from '@haldir/postgres/testing'
import { median } from './measure.ts'

const unavailable = await databaseUnavailable()
if (unavailable) {
  console.log(`postgres crew bench skipped: ${unavailable}`)
} else {
  const processes = Number(process.env.BENCH_CREW_PROCESSES ?? 4)
  const calls = Number(process.env.BENCH_CREW_CALLS ?? 1500)
  const concurrency = Number(process.env.BENCH_CREW_CONCURRENCY ?? 16)
  const rounds = Number(process.env.BENCH_CREW_ROUNDS ?? 3)
  const schema = testSchema()
  const backend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 2 })
  await backend.migrate()
  const haldir = createHaldir({ backend, tenant: 'bench' })
  const worker = fileURLToPath(new URL('./crew-worker.ts', import.meta.url))

  async function round(slices: 'on' | 'off'): Promise<number> {
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['search'], spendLimit: 1_000_000, ttl: 86_400 })
    const children = Array.from({ length: processes }, () =>
      spawn(process.execPath, [worker, testDatabaseUrl, schema, testMasterKey, crew.id, slices, String(calls), String(concurrency)], { stdio: ['pipe', 'pipe', 'inherit'] }),
    )
    // Each child's stdout a line at a time (readline buffers the lines until they are asked for).
    const lines = children.map((child) => {
      const iterator = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
      return async () => (await iterator.next()).value as string
    })
    const readies = lines.map((next) => next())
    await Promise.all(readies)
    const results = lines.map((next) => next())
    for (const child of children) child.stdin.end('go\n')
    const done = (await Promise.all(results)).map((line) => JSON.parse(line) as { ms: number; calls: number })
    await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)))
    const slowest = Math.max(...done.map((result) => result.ms))
    const spend = await haldir.getSpend(crew.id)
    // Every call was charged to the crew exactly once (warm-up calls included).
    const expected = processes * (calls + concurrency) * 0.001
    if (Math.abs(spend.totalUsd - expected) > 1e-6 || spend.reservedUsd !== 0) throw new Error(`crew spend ${spend.totalUsd} (reserved ${spend.reservedUsd}), expected ${expected}`)
    return Math.round((processes * calls) / (slowest / 1000))
  }

  const off: number[] = []
  const on: number[] = []
  for (let index = 0; index < rounds; index++) {
    off.push(await round('off'))
    on.push(await round('on'))
  }
  console.log(`one crew, ${processes} processes × ${concurrency} members, ${calls} governed calls each (gate + deferred settle), ${rounds} interleaved rounds`)
  console.log('| way | crew-wide calls/s (median) | rounds | ratio |')
  console.log('|---|---:|---|---:|')
  console.log(`| no slices (every call locks the crew's row) | ${median(off).toLocaleString('en-US')} | ${off.join(', ')} | 1.00× |`)
  console.log(`| slices (default) | ${median(on).toLocaleString('en-US')} | ${on.join(', ')} | ${(median(on) / median(off)).toFixed(2)}× |`)
  await backend.close()
  await dropSchema(schema)
}
