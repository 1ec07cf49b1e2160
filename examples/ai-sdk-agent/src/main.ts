// A Vercel AI SDK tool loop governed by Haldir, offline: MockLanguageModelV4 plays the model.
// Tools are gated and charged, out-of-scope calls are denied through toolApproval, and the
// model's tokens are metered against the same $0.05 budget.
import { haldirToolApproval, meterModel, withHaldir } from '@haldir/ai-sdk'
import { createHaldir, formatAuditEntry } from '@haldir/core'
import { generateText, stepCountIs, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { z } from 'zod'

const haldir = createHaldir()
const session = await haldir.createSession({ agentId: 'analyst', scopes: ['read', 'db:read'], spendLimit: 0.05, ttl: 600 })

const tools = {
  queryDb: tool({ description: 'Run a read-only SQL query', inputSchema: z.object({ sql: z.string() }), execute: async ({ sql }) => ({ rows: 42, sql }) }),
  dropTable: tool({ description: 'Drop a table', inputSchema: z.object({ table: z.string() }), execute: async ({ table }) => `dropped ${table}` }),
}
const scopes = { queryDb: 'db:read', dropTable: 'db:admin' }

const usage = { inputTokens: { total: 1500, noCache: 1500, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 200, text: 200, reasoning: undefined } }
const turns = [
  [{ type: 'tool-call' as const, toolCallId: 'q1', toolName: 'queryDb', input: JSON.stringify({ sql: 'select count(*) from orders' }) }],
  [{ type: 'tool-call' as const, toolCallId: 'd1', toolName: 'dropTable', input: JSON.stringify({ table: 'orders' }) }],
  [{ type: 'text' as const, text: 'There are 42 orders. I was not allowed to drop the table.' }],
]
let turn = 0
const scripted = new MockLanguageModelV4({
  doGenerate: async () => {
    const content = turns[turn++] ?? []
    return { content, finishReason: { unified: content[0]?.type === 'text' ? 'stop' : 'tool-calls', raw: undefined }, usage, warnings: [] }
  },
})

const result = await generateText({
  model: meterModel(scripted, { haldir, sessionId: session.id, price: { inputPerMTok: 3, outputPerMTok: 15 }, maxCost: 0.01, auditName: 'scripted-model' }),
  tools: withHaldir(tools, { haldir, sessionId: session.id, scopes, costs: { queryDb: 0.002 } }),
  toolApproval: haldirToolApproval({ haldir, sessionId: session.id, scopes }),
  stopWhen: stepCountIs(5),
  prompt: 'How many orders are there? Then clean up the orders table.',
})

for (const step of result.steps) {
  for (const part of step.content) {
    if (part.type === 'tool-result') console.log(`tool ${part.toolName}: ${JSON.stringify(part.output)}`)
    if (part.type === 'tool-approval-response') console.log(`denied: ${part.reason}`)
    if (part.type === 'text') console.log(`model: ${part.text}`)
  }
}

const spend = await haldir.getSpend(session.id)
console.log(`\nspend: $${spend.totalUsd} of $${spend.limitUsd}`, spend.byTool)
// One line per call: a call's reservation (`hold.open`) and its settlement are two entries of the trail.
for (const entry of (await haldir.getAuditTrail({ sessionId: session.id })).entries) {
  if (entry.action !== 'hold.open') console.log(`  ${formatAuditEntry(entry)}`)
}
console.log('audit:', await haldir.verifyAuditTrail(session.id))
