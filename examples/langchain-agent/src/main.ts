// A LangChain.js agent governed by Haldir, offline: a scripted model (fakeModel) drives a real
// createAgent loop. The middleware gates every tool call and meters the model's tokens.
import { createHaldir, formatAuditEntry } from '@haldir/core'
import { haldirMiddleware, withHaldir } from '@haldir/langchain'
import { AIMessage, ToolMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { tool } from '@langchain/core/tools'
import { createAgent } from 'langchain'
import { z } from 'zod'

const haldir = createHaldir()
const session = await haldir.createSession({ agentId: 'researcher', scopes: ['browse', 'read'], spendLimit: 0.05, ttl: 600 })

const search = tool(async ({ query }) => `top result for "${query}"`, { name: 'search', description: 'Search the web', schema: z.object({ query: z.string() }) })
const sendEmail = tool(async ({ to }) => `email sent to ${to}`, { name: 'send_email', description: 'Send an email', schema: z.object({ to: z.string(), body: z.string() }) })

const usage = { input_tokens: 1200, output_tokens: 300, total_tokens: 1500 }
const model = fakeModel()
  .respond(new AIMessage({ content: '', tool_calls: [{ name: 'search', args: { query: 'agent governance' }, id: 'c1', type: 'tool_call' }], usage_metadata: usage }))
  .respond(new AIMessage({ content: '', tool_calls: [{ name: 'send_email', args: { to: 'ceo@example.com', body: 'findings' }, id: 'c2', type: 'tool_call' }], usage_metadata: usage }))
  .respond(new AIMessage({ content: 'Governance means scopes, budgets and an audit trail.', usage_metadata: usage }))

const agent = createAgent({
  model,
  tools: [search, sendEmail],
  middleware: [
    haldirMiddleware({
      haldir,
      sessionId: session.id,
      scopes: { search: 'browse', send_email: 'send_email' },
      costs: { search: 0.01 },
      meter: { price: { inputPerMTok: 3, outputPerMTok: 15 }, maxCost: 0.02, auditName: 'scripted-model' },
    }),
  ],
})

const result = await agent.invoke({ messages: [{ role: 'user', content: 'Research agent governance and email the CEO.' }] })
for (const message of result.messages) {
  const status = ToolMessage.isInstance(message) ? ` [${message.status}]` : ''
  console.log(`${message.type}${status}: ${typeof message.content === 'string' ? message.content : JSON.stringify(message.content)}`)
}

// A single governed tool outside any agent: same tool, gated.
const governedSearch = withHaldir(search, { haldir, sessionId: session.id, scope: 'browse', cost: 0.01 })
console.log('\nstandalone:', await governedSearch.invoke({ query: 'haldir' }))

const spend = await haldir.getSpend(session.id)
console.log(`\nspend: $${spend.totalUsd} of $${spend.limitUsd}`, spend.byTool)
// One line per call: a call's reservation (`hold.open`) and its settlement are two entries of the trail.
for (const entry of (await haldir.getAuditTrail({ sessionId: session.id })).entries) {
  if (entry.action !== 'hold.open') console.log(`  ${formatAuditEntry(entry)}`)
}
console.log('audit:', await haldir.verifyAuditTrail(session.id))
