// The same governed AI SDK tool call on every runtime: a scripted model (MockLanguageModelV4,
// offline) asks for two tools, Haldir lets the one in scope run and charges it, refuses the other,
// meters the model's tokens against the same budget, and the audit chain verifies. Nothing here
// is specific to a runtime: the Node script, Bun, Deno, the Vercel Edge function and the
// Cloudflare Worker all call `governedCall`.
import { meterModel, withHaldir } from '@haldir/ai-sdk'
import type { Haldir } from '@haldir/core'
import { generateText, stepCountIs, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { z } from 'zod'

export interface GovernedCallReport {
  /** What the tools returned to the model, in order. */
  toolResults: unknown[]
  text: string
  spentUsd: number
  byTool: Record<string, number>
  /** Audit entries and whether their HMAC chain verifies. */
  auditEntries: number
  auditVerified: boolean
  blocked: number
}

export async function governedCall(haldir: Haldir): Promise<GovernedCallReport> {
  const session = await haldir.createSession({ agentId: 'edge-agent', scopes: ['search'], spendLimit: 0.1, ttl: 300 })
  const tools = {
    search: tool({ description: 'Search the web', inputSchema: z.object({ query: z.string() }), execute: async ({ query }) => ({ query, hits: 3 }) }),
    sendEmail: tool({ description: 'Send an email', inputSchema: z.object({ to: z.string() }), execute: async ({ to }) => `sent to ${to}` }),
  }
  const turns = [
    [
      { type: 'tool-call' as const, toolCallId: 'call_1', toolName: 'search', input: JSON.stringify({ query: 'haldir' }) },
      { type: 'tool-call' as const, toolCallId: 'call_2', toolName: 'sendEmail', input: JSON.stringify({ to: 'ceo@example.com' }) },
    ],
    [{ type: 'text' as const, text: 'Found 3 hits; I may not send email.' }],
  ]
  let turn = 0
  const usage = { inputTokens: { total: 1000, noCache: 1000, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 100, text: 100, reasoning: undefined } }
  const model = new MockLanguageModelV4({
    doGenerate: async () => {
      const content = turns[turn++] ?? []
      return { content, finishReason: { unified: content[0]?.type === 'text' ? 'stop' : 'tool-calls', raw: undefined }, usage, warnings: [] }
    },
  })
  const result = await generateText({
    model: meterModel(model, { haldir, sessionId: session.id, price: { inputPerMTok: 3, outputPerMTok: 15 }, maxCost: 0.01, auditName: 'model' }),
    tools: withHaldir(tools, { haldir, sessionId: session.id, scopes: { search: 'search', sendEmail: 'email' }, costs: { search: 0.01 } }),
    stopWhen: stepCountIs(3),
    prompt: 'Search for haldir and email the CEO.',
  })
  const spend = await haldir.getSpend(session.id)
  const trail = await haldir.getAuditTrail({ sessionId: session.id })
  const verified = await haldir.verifyAuditTrail(session.id)
  return {
    toolResults: result.steps.flatMap((step) => step.toolResults.map((part) => part.output)),
    text: result.text,
    spentUsd: spend.totalUsd,
    byTool: spend.byTool,
    auditEntries: trail.count,
    auditVerified: verified.ok,
    blocked: trail.entries.filter((entry) => entry.outcome === 'denied').length,
  }
}
