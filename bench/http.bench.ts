// Governed call over HTTP on loopback: settles inline with every gate alone (the caller waits
// for two round trips; the path before #18) vs deferred (one round trip; settles batched after,
// and under load concurrent gates batched too), against one bare round trip, in
// interleaved rounds (medians). The server runs in its own process (`haldir serve`).
// Targets (issue #18): deferred p50 ≤ 1.3× one bare round trip at c=1; calls/s at c=32
// ≥ 3× the inline (previous) path. Throughput counts until every settle has landed.
import { randomBytes } from 'node:crypto'
import { createHaldir, httpBackend, withHaldir } from '@haldir/core'
import { createApiKey } from '@haldir/server'
import { startHaldirServe } from './haldir-serve.ts'
import { median } from './measure.ts'

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const sequentialCalls = Number(process.env.BENCH_HTTP_CALLS ?? 2_000)
const concurrentCalls = Number(process.env.BENCH_HTTP_CONCURRENT_CALLS ?? 8_000)
const concurrency = 32
// Gate requests under way before gates wait to go together (the client's default unless set).
const inFlight = process.env.BENCH_GATE_IN_FLIGHT === undefined ? undefined : Number(process.env.BENCH_GATE_IN_FLIGHT)
const apiKey = createApiKey()
// An agent key, as production runs agents; no per-key limit: the bench sends many requests.
// BENCH_HTTP_BACKEND=postgres://…?schema=… runs the server over PostgreSQL (fresh keys each run).
const backendUrl = process.env.BENCH_HTTP_BACKEND
const { url, stop } = await startHaldirServe(['--rate-limit', 'off', ...(backendUrl ? ['--backend', backendUrl] : [])], {
  HALDIR_API_KEYS: `bench:agent=${apiKey}`,
  ...(backendUrl ? { HALDIR_MASTER_KEY: randomBytes(32).toString('base64') } : {}),
})

async function client(settle: 'inline' | 'deferred', gateBatch = true) {
  const haldir = createHaldir({ backend: httpBackend({ url, apiKey, gateBatch: gateBatch && (inFlight === undefined ? {} : { inFlight }) }), settle })
  const session = await haldir.createSession({ agentId: `bench-${settle}`, scopes: ['search'], spendLimit: null, ttl: 24 * 3600 })
  const search = withHaldir(async (query: string) => ({ query, hits: 3 }), { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.001 })
  return { haldir, session, search }
}
// Inline with every gate alone: the previous path (two round trips per call, one request per gate).
const inline = await client('inline', false)
const deferred = await client('deferred')
// Deferred settles, gates alone: what batching the gates adds on top.
const unbatched = await client('deferred', false)
// One bare round trip through the same server, key check and all: read the session.
const bare = () => fetch(`${url}/native/v1/sessions/${inline.session.id}`, { headers: { authorization: `Bearer ${apiKey}` } }).then((response) => response.arrayBuffer())

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** p50 of `fn`; with `thinkMs`, an agent's pause (its model's turn) between calls, not timed. */
async function p50(fn: () => Promise<unknown>, calls: number, thinkMs = 0): Promise<number> {
  for (let index = 0; index < 200; index++) await fn()
  const samples = new Float64Array(calls)
  for (let index = 0; index < calls; index++) {
    if (thinkMs > 0) await pause(thinkMs)
    const before = process.hrtime.bigint()
    await fn()
    samples[index] = Number(process.hrtime.bigint() - before) / 1000
  }
  samples.sort()
  return samples[Math.floor(calls / 2)] as number
}

async function throughput(fn: () => Promise<unknown>, flush: () => Promise<void>): Promise<number> {
  let next = 0
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < concurrentCalls) await fn()
  }))
  await flush()
  return Math.round(concurrentCalls / (Number(process.hrtime.bigint() - started) / 1e9))
}

const figures: Record<string, number[]> = { bare: [], bareThink: [], inline: [], deferred: [], inlineThink: [], deferredThink: [], inlineRate: [], deferredRate: [], unbatchedRate: [] }
const thinkCalls = Math.min(sequentialCalls, 500)
for (let round = 0; round < rounds; round++) {
  figures.bare?.push(await p50(bare, sequentialCalls))
  figures.inline?.push(await p50(() => inline.search('q'), sequentialCalls))
  figures.deferred?.push(await p50(() => deferred.search('q'), sequentialCalls))
  await deferred.haldir.flush()
  // The same pause before a bare round trip: waking from it costs both sides alike.
  figures.bareThink?.push(await p50(bare, thinkCalls, 2))
  figures.inlineThink?.push(await p50(() => inline.search('q'), thinkCalls, 2))
  figures.deferredThink?.push(await p50(() => deferred.search('q'), thinkCalls, 2))
  await deferred.haldir.flush()
  figures.inlineRate?.push(await throughput(() => inline.search('q'), () => inline.haldir.flush()))
  figures.deferredRate?.push(await throughput(() => deferred.search('q'), () => deferred.haldir.flush()))
  figures.unbatchedRate?.push(await throughput(() => unbatched.search('q'), () => unbatched.haldir.flush()))
}
const m = Object.fromEntries(Object.entries(figures).map(([name, values]) => [name, median(values)])) as Record<string, number>
console.log(`\ngoverned call over HTTP on loopback (${rounds} interleaved rounds, medians; server in its own process, backend ${backendUrl ? 'postgres' : 'memory'})`)
console.log(`  one bare round trip             p50 ${m.bare?.toFixed(0)} µs`)
console.log(`  inline settle (2 round trips)   p50 ${m.inline?.toFixed(0)} µs  (${((m.inline as number) / (m.bare as number)).toFixed(2)}× bare)`)
console.log(`  deferred settle (1 round trip)  p50 ${m.deferred?.toFixed(0)} µs  (${((m.deferred as number) / (m.bare as number)).toFixed(2)}× bare; target ≤ 1.3×)`)
console.log(
  `  with 2 ms between calls (a model's turn): bare p50 ${m.bareThink?.toFixed(0)} µs, inline p50 ${m.inlineThink?.toFixed(0)} µs, deferred p50 ${m.deferredThink?.toFixed(0)} µs (${((m.deferredThink as number) / (m.bareThink as number)).toFixed(2)}× bare with the same pause)`,
)
console.log(
  `  concurrency ${concurrency}: inline, gates alone ${m.inlineRate} calls/s; deferred, gates alone ${m.unbatchedRate} calls/s (${((m.unbatchedRate as number) / (m.inlineRate as number)).toFixed(2)}×); deferred, gates batched (default) ${m.deferredRate} calls/s (${((m.deferredRate as number) / (m.inlineRate as number)).toFixed(2)}×; target ≥ 3×)`,
)
await Promise.all([inline.haldir.close(), deferred.haldir.close(), unbatched.haldir.close()])
stop()
