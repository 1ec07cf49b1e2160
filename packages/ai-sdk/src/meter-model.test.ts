import { BudgetExceededError, createHaldir } from '@haldir/core'
import { generateText, stepCountIs, streamText, tool } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { meterModel } from './meter-model.ts'
import { scriptedModel, usage } from './scripted-model.test-helper.ts'
import { withHaldir } from './with-haldir.ts'

const haldir = createHaldir()
const price = { inputPerMTok: 3, outputPerMTok: 15 }

describe('meterModel', () => {
  it('charges each model call exactly by its token usage, with the tools on the same budget', async () => {
    const session = await haldir.createSession({ agentId: 'metered', scopes: ['*'], spendLimit: 1 })
    const inner = scriptedModel([{ toolCalls: [{ name: 'search', input: { query: 'x' } }] }, { text: 'done' }], usage(1000, 500))
    const model = meterModel(inner, { haldir, sessionId: session.id, price, maxCost: 0.05, auditName: 'claude' })
    const search = tool({ description: 'search', inputSchema: z.object({ query: z.string() }), execute: async () => 'hits' })
    await generateText({ model, tools: withHaldir({ search }, { haldir, sessionId: session.id, cost: 0.01 }), stopWhen: stepCountIs(3), prompt: 'q' })
    // 2 calls × (1000 × $3 + 500 × $15) / 1M = 2 × $0.0105
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.031, reservedUsd: 0, byTool: { claude: 0.021, search: 0.01 } })
    const entries = (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open').filter((entry) => entry.tool === 'claude')
    expect(entries.map((entry) => [entry.action, entry.costUsd, entry.details])).toEqual([
      ['model.call', 0.0105, { kind: 'generate', inputTokens: 1000, outputTokens: 500 }],
      ['model.call', 0.0105, { kind: 'generate', inputTokens: 1000, outputTokens: 500 }],
    ])
  })

  it('rounds a fraction of a micro-dollar up', async () => {
    const session = await haldir.createSession({ agentId: 'metered', spendLimit: 1 })
    const model = meterModel(scriptedModel([{ text: 'hi' }], usage(1, 1)), { haldir, sessionId: session.id, price: { inputPerMTok: 0.15, outputPerMTok: 0.6 }, maxCost: 0.01 })
    await generateText({ model, prompt: 'q' })
    expect((await haldir.getSpend(session.id)).totalUsd).toBe(0.000001)
  })

  it('refuses a call the budget cannot hold before the provider is called', async () => {
    const session = await haldir.createSession({ agentId: 'metered', spendLimit: 0.01 })
    const inner = scriptedModel([{ text: 'never' }])
    const model = meterModel(inner, { haldir, sessionId: session.id, price, maxCost: 0.05 })
    const error = await generateText({ model, prompt: 'q', maxRetries: 0 }).catch((caught: unknown) => caught)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    expect(inner.doGenerateCalls).toHaveLength(0)
    expect((await haldir.getAuditTrail({ sessionId: session.id, outcome: 'denied' })).count).toBe(1)
  })

  it('settles a stream on its finish part', async () => {
    const session = await haldir.createSession({ agentId: 'metered', spendLimit: 1 })
    const model = meterModel(scriptedModel([{ text: 'streamed answer' }], usage(2000, 1000)), { haldir, sessionId: session.id, price, maxCost: 0.1 })
    const result = streamText({ model, prompt: 'q' })
    expect(await result.text).toBe('streamed answer')
    await result.consumeStream()
    // (2000 × $3 + 1000 × $15) / 1M
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.021, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId: session.id })).entries.at(-1)).toMatchObject({ action: 'model.call', costUsd: 0.021, details: { kind: 'stream' } })
  })

  it('releases the hold when the provider fails', async () => {
    const session = await haldir.createSession({ agentId: 'metered', spendLimit: 1 })
    const failing = scriptedModel([{ text: 'x' }])
    failing.doGenerate = async () => {
      throw new Error('provider down')
    }
    const model = meterModel(failing, { haldir, sessionId: session.id, price, maxCost: 0.1 })
    await expect(generateText({ model, prompt: 'q', maxRetries: 0 })).rejects.toThrow('provider down')
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId: session.id })).entries.at(-1)).toMatchObject({ outcome: 'error', reason: 'provider down' })
  })
})
