// The core API end to end on the memory backend: a crew session with two agents under it,
// a governed tool, a two-phase model charge, the vault, a revocation, and the audit report.
import { BudgetExceededError, createHaldir, withHaldir } from '@haldir/core'

const haldir = createHaldir()

const crew = await haldir.createSession({ agentId: 'crew', scopes: ['read', 'browse', 'db:*'], spendLimit: 1.0, ttl: 600 })
const researcher = await haldir.createSession({ agentId: 'researcher', scopes: ['read', 'browse'], spendLimit: 0.8, parentId: crew.id })
const analyst = await haldir.createSession({ agentId: 'analyst', scopes: ['read', 'db:write'], parentId: crew.id })

const webSearch = async (query: string) => [`${query}: result 1`, `${query}: result 2`]
const search = withHaldir(webSearch, { haldir, sessionId: researcher.id, scope: 'browse', auditName: 'web_search', cost: 0.05, onDenied: 'message' })
const analystSearch = withHaldir(webSearch, { haldir, sessionId: analyst.id, scope: 'browse', auditName: 'web_search', cost: 0.05, onDenied: 'message' })

console.log(await search('agent governance'))
console.log(await analystSearch('not my job'))

// A model call whose cost is known only afterwards: reserve the maximum, settle the actual.
const hold = await haldir.reserve(analyst.id, 0.5, { tool: 'llm' })
await hold.settle(0.137)

await haldir.storeSecret('db_password', 'pg_demo_password', { scopeRequired: 'db:write' })
console.log('analyst reads the db password:', (await haldir.getSecret('db_password', { sessionId: analyst.id })).replace(/./g, '•'))
await haldir.getSecret('db_password', { sessionId: researcher.id }).catch((error: Error) => console.log('researcher:', error.message))

// The crew limit ($1.00) binds the analyst, who has no limit of its own.
try {
  await haldir.authorizePayment(analyst.id, 0.9, { description: 'bulk export' })
} catch (error) {
  if (BudgetExceededError.isInstance(error)) console.log('refused:', error.message)
}

await haldir.revokeSession(crew.id, { reason: 'crew finished' })
console.log(await search('after revocation'))

for (const session of [researcher, analyst]) {
  const spend = await haldir.getSpend(session.id)
  const trail = await haldir.getAuditTrail({ sessionId: session.id })
  console.log(`\n${session.agentId}: ${trail.count} entries, $${spend.totalUsd.toFixed(3)} spent`)
  for (const entry of trail.entries) {
    const status = entry.outcome === 'ok' ? 'OK' : entry.outcome === 'denied' ? 'BLOCKED' : 'ERROR'
    console.log(`  ${entry.timestamp} | ${entry.tool.padEnd(12)} | ${entry.action.padEnd(15)} | ${status.padEnd(7)} | $${entry.costUsd.toFixed(3)}${entry.reason ? ` | ${entry.reason}` : ''}`)
  }
  const verified = await haldir.verifyAuditTrail(session.id)
  console.log(`  audit chain: ${verified.ok ? `verified (${verified.count} entries)` : `BROKEN at ${verified.brokenAt}`}`)
}
console.log(`\ncrew spend: $${(await haldir.getSpend(crew.id)).totalUsd.toFixed(3)} of $${crew.spendLimit?.toFixed(2)}`)
