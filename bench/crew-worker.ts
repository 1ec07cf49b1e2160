// One OS process of the crew bench (postgres-crew.bench.ts): opens its own backend on the shared
// schema, makes its members under the crew, says it is ready, waits for "go" on stdin, runs its
// governed calls `concurrency` at a time, and prints how long they took (settles included).
import { createInterface } from 'node:readline'
import { createHaldir, withHaldir } from '@haldir/core'
import { postgresBackend } from '@haldir/postgres'

const [connectionString, schema, masterKey, crewId, slicesText, callsText, concurrencyText] = process.argv.slice(2) as string[]
const backend = postgresBackend({ connectionString: connectionString as string, schema: schema as string, masterKey: masterKey as string, poolSize: 8, migrate: false, slices: slicesText === 'on' })
const haldir = createHaldir({ backend, tenant: 'bench' })
const calls = Number(callsText)
const concurrency = Number(concurrencyText)
const tools = await Promise.all(
  Array.from({ length: concurrency }, async (_, index) => {
    const member = await haldir.createSession({ agentId: `member-${process.pid}-${index}`, scopes: ['search'], parentId: crewId as string, ttl: 86_400 })
    return withHaldir(async (query: string) => ({ query }), { haldir, sessionId: member.id, scope: 'search', tool: 'search', cost: 0.001 })
  }),
)
// Warm: each member's first call (its first slice, the statements prepared on the connections).
await Promise.all(tools.map((tool) => tool('warm')))
await haldir.flush()
console.log('ready')
const lines = createInterface({ input: process.stdin })
for await (const line of lines) if (line === 'go') break
lines.close()
const started = performance.now()
let next = 0
await Promise.all(
  tools.map(async (tool) => {
    while (next < calls) {
      next++
      await tool('q')
    }
  }),
)
await haldir.flush()
console.log(JSON.stringify({ ms: performance.now() - started, calls }))
await backend.close()
