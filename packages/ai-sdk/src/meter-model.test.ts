import { BudgetExceededError, createHaldir, ValidationError } from '@haldir/core'
import { generateText, stepCountIs, streamText, tool, wrapLanguageModel } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { haldirModelMiddleware, meterModel } from './meter-model.ts'
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

  it("meters at the model's list price from Haldir's table when no price is given, cached and reasoning tokens at their rates", async () => {
    const session = await haldir.createSession({ agentId: 'metered', spendLimit: 1 })
    // 10,000 prompt tokens, 8,000 read from the cache; 2,000 output tokens, 1,500 of them reasoning.
    const tokens = { inputTokens: { total: 10_000, noCache: 2_000, cacheRead: 8_000, cacheWrite: undefined }, outputTokens: { total: 2_000, text: 500, reasoning: 1_500 } }
    const model = meterModel(scriptedModel([{ text: 'hi' }], tokens, 'gpt-5.4-mini'), { haldir, sessionId: session.id, maxCost: 0.05 })
    await generateText({ model, prompt: 'q' })
    // gpt-5.4-mini: 2,000 × $0.75 + 8,000 × $0.075 + 2,000 × $4.50, per million.
    expect((await haldir.getSpend(session.id)).byTool).toEqual({ 'gpt-5.4-mini': 0.0111 })
    expect((await haldir.getAuditTrail({ sessionId: session.id })).entries.at(-1)).toMatchObject({
      costUsd: 0.0111,
      details: { kind: 'generate', inputTokens: 10_000, outputTokens: 2_000, cachedInputTokens: 8_000, reasoningTokens: 1_500 },
    })
  })

  it('refuses a model with no known price before any call, and takes prices of your own', async () => {
    const session = await haldir.createSession({ agentId: 'metered', spendLimit: 1 })
    const unknown = scriptedModel([{ text: 'never' }], usage(10, 10), 'mystery-model-1')
    expect(() => meterModel(unknown, { haldir, sessionId: session.id, maxCost: 0.05 })).toThrow(ValidationError)
    expect(() => meterModel(unknown, { haldir, sessionId: session.id, maxCost: 0.05 })).toThrow(/No price for model 'mystery-model-1'/)
    // As middleware the model is known only at the call: refused before the provider and the budget are touched.
    const wrapped = wrapLanguageModel({ model: unknown, middleware: haldirModelMiddleware({ haldir, sessionId: session.id, maxCost: 0.05 }) })
    const error = await generateText({ model: wrapped, prompt: 'q', maxRetries: 0 }).catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect(unknown.doGenerateCalls).toHaveLength(0)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    // Prices of your own: a model the table lacks, or one it lists at another rate.
    const priced = meterModel(scriptedModel([{ text: 'ok' }], usage(1_000_000, 0), 'mystery-model-1'), {
      haldir,
      sessionId: session.id,
      prices: { 'mystery-model-1': { inputPerMTok: 0.02, outputPerMTok: 0.05 } },
      maxCost: 0.05,
    })
    await generateText({ model: priced, prompt: 'q' })
    expect((await haldir.getSpend(session.id)).totalUsd).toBe(0.02)
    expect(() => meterModel(unknown, { haldir, sessionId: session.id, prices: { x: { inputPerMTok: -1, outputPerMTok: 1 } }, maxCost: 0.05 })).toThrow(ValidationError)
    expect(() => meterModel(unknown, { haldir, sessionId: session.id, price: { inputPerMTok: 1, outputPerMTok: 1, cachedPerMTok: 0 } as never, maxCost: 0.05 })).toThrow(/cachedPerMTok/)
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
