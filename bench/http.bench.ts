// Governed call over HTTP on loopback vs the memory backend, in the same run.
// The server runs in its own process (`haldir serve`), as it would in production.
// Target (issue #3): p50 ≤ 1 ms per governed call (two round trips: authorize, settle).
import { createHaldir, httpBackend, withHaldir } from '@haldir/core'
import { createApiKey } from '@haldir/server'
import { startHaldirServe } from './haldir-serve.ts'
import { measure, measureConcurrent, report } from './measure.ts'

const sequentialCalls = Number(process.env.BENCH_HTTP_CALLS ?? 5_000)
const concurrentCalls = Number(process.env.BENCH_HTTP_CONCURRENT_CALLS ?? 20_000)
const apiKey = createApiKey()
// An agent key, as production runs agents; no per-key limit: the bench sends ~90,000 requests.
const { url, stop } = await startHaldirServe(['--rate-limit', 'off'], { HALDIR_API_KEYS: `bench:agent=${apiKey}` })

async function governedSearch(backend: 'memory' | 'http') {
  const haldir = backend === 'memory' ? createHaldir() : createHaldir({ backend: httpBackend({ url, apiKey }) })
  const session = await haldir.createSession({ agentId: `bench-${backend}`, scopes: ['search'], spendLimit: null, ttl: 24 * 3600 })
  return withHaldir(async (query: string) => ({ query, hits: 3 }), { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.001 })
}

const memorySearch = await governedSearch('memory')
const httpSearch = await governedSearch('http')
const memory = await measure('memory backend, sequential', () => memorySearch('haldir'), { calls: sequentialCalls * 10 })
const rows = [await measure('http backend, concurrency 1', () => httpSearch('haldir'), { calls: sequentialCalls, warmup: 500 })]
for (const concurrency of [16, 64]) {
  rows.push(await measureConcurrent(`http backend, concurrency ${concurrency}`, () => httpSearch('haldir'), { total: concurrentCalls, concurrency, warmup: 500 }))
}
report('governed call: HTTP on loopback (server in a separate process) vs memory backend', memory, rows)
stop()
