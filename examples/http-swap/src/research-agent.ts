import { type Haldir, withHaldir } from '@haldir/core'

/**
 * Agent code that knows nothing about where governance state lives: it gets a Haldir client
 * and uses it. The same function runs on the memory backend and on a Haldir server.
 */
export async function researchAgent(haldir: Haldir): Promise<string[]> {
  const session = await haldir.createSession({ agentId: 'researcher', scopes: ['read', 'browse'], spendLimit: 0.1, ttl: 300 })
  const search = withHaldir(async (query: string) => `3 results for "${query}"`, {
    haldir,
    sessionId: session.id,
    scope: 'browse',
    auditName: 'web_search',
    cost: 0.03,
    onDenied: 'message',
  })
  const email = withHaldir(async (to: string) => `sent to ${to}`, { haldir, sessionId: session.id, scope: 'send_email', auditName: 'send_email', onDenied: 'message' })

  const log = [await search('agent governance'), await email('boss@example.com')]
  for (const topic of ['budgets', 'audit trails', 'scopes']) log.push(await search(topic)) // the fourth search exceeds $0.10

  const spend = await haldir.getSpend(session.id)
  const verified = await haldir.verifyAuditTrail(session.id)
  log.push(`spent $${spend.totalUsd} of $${spend.limitUsd}; audit ${verified.ok ? `verified (${verified.count} entries)` : 'BROKEN'}`)
  return log
}
