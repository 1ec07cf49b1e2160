// One OS process of the cross-process budget test: opens its own pool, creates a child of the
// shared parent, fires its charges all at once, and prints how many went through.
import { BudgetExceededError, createHaldir } from '@haldir/core'
import { postgresBackend } from './postgres-backend.ts'

const [connectionString, schema, tenant, parentId, countText, masterKey] = process.argv.slice(2) as [string, string, string, string, string, string]
const backend = postgresBackend({ connectionString, schema, masterKey, poolSize: 10, migrate: false })
const haldir = createHaldir({ backend, tenant })
const child = await haldir.createSession({ agentId: `worker-${process.pid}`, parentId, scopes: [] })
const results = await Promise.allSettled(Array.from({ length: Number(countText) }, () => haldir.authorizePayment(child.id, 0.1)))
const ok = results.filter((result) => result.status === 'fulfilled').length
const refused = results.filter((result) => result.status === 'rejected' && BudgetExceededError.isInstance(result.reason)).length
const other = results.length - ok - refused
console.log(JSON.stringify({ ok, refused, other, childId: child.id }))
await backend.close()
