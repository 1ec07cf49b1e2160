// Our governed call beside the Microsoft Agent Governance Toolkit's TypeScript SDK
// (`@microsoft/agent-governance-sdk`) in one process, interleaved rounds, medians.
// Theirs: a legacy policy rule check (`PolicyEngine#evaluate`) + a hash-chained audit append
// (`AuditLogger#log`: unkeyed SHA-256 over a JSON payload), at its default 10,000-entry window
// (which copies the log on every append once full) and with eviction off. Ours: the whole gate —
// scope, liveness and budget checks, a reservation, the settle, two HMAC-sealed entries
// (`hold.open`, `execute`) — with the settle deferred (the default) and inline. Two more rows give
// each side a turn of the event loop between calls (untimed), as an agent has between tool calls:
// our deferred seals and settles then run between calls instead of inside one.
import { AuditLogger, PolicyEngine } from '@microsoft/agent-governance-sdk'
import { createHaldir, memoryBackend, withHaldir } from '@haldir/core'
import { interleaved, measure, report } from './measure.ts'

const calls = Number(process.env.BENCH_CALLS ?? 50_000)

function microsoft(maxEntries: number) {
  const engine = new PolicyEngine([{ action: 'search', effect: 'allow' }])
  const audit = new AuditLogger({ maxEntries })
  return () => {
    const decision = engine.evaluate('search', { query: 'haldir' })
    if (decision !== 'allow') throw new Error(`denied: ${decision}`)
    audit.log({ agentId: 'bench', action: 'search', decision })
    return { query: 'haldir', hits: 3 }
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

/**
 * One round of our governed call: a fresh backend (no tenant quota: a round writes 100,000 sealed
 * entries). `turns`: a turn of the event loop between calls, untimed, as an agent has between two
 * tool calls (a model's answer); the seals and settles owed then run there, not inside a call.
 */
async function haldirRound(settle: 'deferred' | 'inline', turns = false) {
  const client = createHaldir({ backend: memoryBackend({ maxTenantBytes: Number.MAX_SAFE_INTEGER }), settle })
  const session = await client.createSession({ agentId: 'bench', scopes: ['search'], spendLimit: null, ttl: 24 * 3600 })
  const governed = withHaldir(async (query: string) => ({ query, hits: 3 }), { haldir: client, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.001 })
  const result = await measure(`haldir-${settle}${turns ? '-turns' : ''}`, () => governed('haldir'), turns ? { calls, between: turn } : { calls })
  await client.close()
  return result
}

const rows = await interleaved([
  { name: 'Microsoft AGT: evaluate + AuditLogger.log (default 10k window)', run: () => measure('agt', microsoft(10_000), { calls }) },
  { name: 'Microsoft AGT: evaluate + AuditLogger.log (eviction off)', run: () => measure('agt-off', microsoft(Number.MAX_SAFE_INTEGER), { calls }) },
  { name: 'Haldir governed call, settle deferred (default)', run: () => haldirRound('deferred') },
  { name: 'Haldir governed call, settle inline', run: () => haldirRound('inline') },
  { name: 'Haldir governed call, settle deferred, a turn between calls', run: () => haldirRound('deferred', true) },
  { name: 'Microsoft AGT (eviction off), a turn between calls', run: () => measure('agt-off-turns', microsoft(Number.MAX_SAFE_INTEGER), { calls, between: turn }) },
])
const [agtDefault, agtOff, ...ours] = rows as [(typeof rows)[number], (typeof rows)[number], ...typeof rows]
report('peers: one governed action in process (ratios against the Microsoft SDK eviction-free path)', agtOff, [agtDefault, ...ours])
