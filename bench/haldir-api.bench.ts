// Issue #13 (cost $0.01 a call, upstream's smallest payment): a governed call as upstream Haldir's recipe makes it on the Haldir API (three round
// trips: check, authorize, log) vs ours on the native API (two: gate, settle), against the same
// `haldir serve` process in the same run, at concurrency 1 and 32, interleaved rounds, medians.
// Both sides use the same HTTP client (core's keep-alive node:http transport), so the difference
// is the round trips and the work behind them, not the client.
import { createHaldir, httpBackend, withHaldir } from '@haldir/core'
import { nodeTransport } from '@haldir/core/backend'
import { createApiKey } from '@haldir/server'
import { startHaldirServe } from './haldir-serve.ts'
import { interleaved, type Measurement, measure, measureConcurrent, report } from './measure.ts'

const sequentialCalls = Number(process.env.BENCH_HALDIR_API_CALLS ?? 2_000)
const concurrentCalls = Number(process.env.BENCH_HALDIR_API_CONCURRENT_CALLS ?? 8_000)
const concurrency = 32
const apiKey = createApiKey()
// An admin key (the recipe mints its own sessions and logs; the native side needs the gate); no per-key limit.
const { url, stop } = await startHaldirServe(['--rate-limit', 'off', '--publish-tree-heads', 'off'], { HALDIR_API_KEYS: `bench:admin=${apiKey}` })

const transport = nodeTransport()
const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }
async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await transport({ method: 'POST', url: url + path, headers, body: JSON.stringify(body), timeoutMs: 10_000 })
  if (response.status >= 300) throw new Error(`${path} answered ${response.status}: ${response.text}`)
  return JSON.parse(response.text) as Record<string, unknown>
}

/** The recipe's governed tool, on the Haldir API: check the scope, authorize the cost, run, log. */
async function recipeSearch(): Promise<() => Promise<unknown>> {
  const session = (await post('/v1/sessions', { agent_id: 'bench-recipe', scopes: ['search', 'spend'], ttl: 86_400 })).session_id as string
  return async () => {
    if (!(await post(`/v1/sessions/${session}/check`, { scope: 'search' })).allowed) throw new Error('refused')
    await post('/v1/payments/authorize', { session_id: session, amount: 0.01, description: 'search' })
    const result = { query: 'haldir', hits: 3 }
    await post('/v1/audit', { session_id: session, tool: 'search', action: 'execute', cost_usd: 0.01, details: { query: 'haldir' } })
    return result
  }
}

/** Ours, on the native API: one gate call (scope, liveness, budget, reserve), one settle. */
async function nativeSearch(): Promise<() => Promise<unknown>> {
  const haldir = createHaldir({ backend: httpBackend({ url, apiKey }) })
  const session = await haldir.createSession({ agentId: 'bench-native', scopes: ['search'], spendLimit: null, ttl: 86_400 })
  const search = withHaldir(async (query: string) => ({ query, hits: 3 }), { haldir, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.01 })
  return () => search('haldir')
}

const sequential = (name: string, make: () => Promise<() => Promise<unknown>>) => async () => measure(name, await make(), { calls: sequentialCalls, warmup: 200 })
const concurrent = (name: string, make: () => Promise<() => Promise<unknown>>) => async () => measureConcurrent(name, await make(), { total: concurrentCalls, concurrency, warmup: 200 })

// The server is stopped however the run ends (a failed call must not leave it behind).
try {
  const [nativeOne, recipeOne] = (await interleaved([
    { name: 'native API: gate + settle (2 round trips), concurrency 1', run: sequential('native', nativeSearch) },
    { name: 'Haldir API: check + authorize + log (3 round trips), concurrency 1', run: sequential('recipe', recipeSearch) },
  ])) as [Measurement, Measurement]
  report('governed call on one haldir serve process (memory backend): concurrency 1, interleaved rounds, medians', nativeOne, [recipeOne])

  const [nativeMany, recipeMany] = (await interleaved([
    { name: `native API: gate + settle (2 round trips), concurrency ${concurrency}`, run: concurrent('native', nativeSearch) },
    { name: `Haldir API: check + authorize + log (3 round trips), concurrency ${concurrency}`, run: concurrent('recipe', recipeSearch) },
  ])) as [Measurement, Measurement]
  report(`governed call on one haldir serve process (memory backend): concurrency ${concurrency}, interleaved rounds, medians`, nativeMany, [recipeMany])
  console.log(`\ncalls/s native ÷ Haldir API: ${(nativeOne.callsPerSecond / recipeOne.callsPerSecond).toFixed(2)}× at concurrency 1, ${(nativeMany.callsPerSecond / recipeMany.callsPerSecond).toFixed(2)}× at ${concurrency}`)
} finally {
  stop()
}
