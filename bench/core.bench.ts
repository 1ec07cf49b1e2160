// Governed call vs bare call on the memory backend, in the same run.
// Target (issue #2): p50 ≤ 10 µs and p99 ≤ 50 µs per governed call (gate + settle + HMAC audit).
import { createHaldir, withHaldir } from '@haldir/core'
import { measure, report } from './measure.ts'

const calls = Number(process.env.BENCH_CALLS ?? 100_000)
const haldir = createHaldir()
const session = await haldir.createSession({ agentId: 'bench', scopes: ['search'], spendLimit: null, ttl: 24 * 3600 })

const search = async (query: string) => ({ query, hits: 3 })
const governed = withHaldir(search, { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.001 })
const governedNoArgs = withHaldir(search, { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.001, details: false })

const bare = await measure('bare async call', () => search('haldir'), { calls })
const full = await measure('withHaldir (args audited)', () => governed('haldir'), { calls })
const lean = await measure('withHaldir (details: false)', () => governedNoArgs('haldir'), { calls })
const payment = await measure('authorizePayment', () => haldir.authorizePayment(session.id, 0.001), { calls })
const check = await measure('checkPermission', () => haldir.checkPermission(session.id, 'search'), { calls })

report('core: memory backend, sequential', bare, [full, lean, payment, check])
const verified = await haldir.verifyAuditTrail(session.id)
console.log(`\naudit entries written: ${verified.count}, chain ok: ${verified.ok}`)
