import { describe, expect, it } from 'vitest'
import { createHaldir } from './create-haldir.ts'
import { settleModelUsage } from './settle-model-usage.ts'

describe('settleModelUsage', () => {
  it('charges the token cost, or the whole reservation (flagged) when usage is missing or too high', async () => {
    const haldir = createHaldir()
    const session = await haldir.createSession({ agentId: 'model', spendLimit: 1 })
    const price = { inputPerMTok: 3, outputPerMTok: 15 }
    const exact = await settleModelUsage(await haldir.reserve(session.id, 0.05), { usage: { inputTokens: 1000, outputTokens: 500 }, price, maxCost: 0.05, kind: 'generate' })
    expect(exact).toMatchObject({ costUsd: 0.0105, flagged: false, action: 'model.call', details: { kind: 'generate', inputTokens: 1000, outputTokens: 500 } })
    const missing = await settleModelUsage(await haldir.reserve(session.id, 0.05), { usage: undefined, price, maxCost: 0.05, kind: 'generate' })
    expect(missing).toMatchObject({ costUsd: 0.05, flagged: true, reason: 'no token usage reported; charged maxCost' })
    const over = await settleModelUsage(await haldir.reserve(session.id, 0.01), { usage: { inputTokens: 10_000, outputTokens: 0 }, price, maxCost: 0.01, kind: 'generate' })
    expect(over).toMatchObject({ costUsd: 0.01, flagged: true })
    expect((await haldir.getSpend(session.id)).totalUsd).toBe(0.0705)
  })

  it('bills cached and reasoning tokens at their rates and records their counts', async () => {
    const haldir = createHaldir()
    const session = await haldir.createSession({ agentId: 'model', spendLimit: 1 })
    const price = { inputPerMTok: 2.5, cachedInputPerMTok: 0.25, outputPerMTok: 15 }
    const usage = { inputTokens: 10_000, cachedInputTokens: 8_000, outputTokens: 2_000, reasoningTokens: 1_500 }
    const entry = await settleModelUsage(await haldir.reserve(session.id, 0.05), { usage, price, maxCost: 0.05, kind: 'stream' })
    expect(entry).toMatchObject({ costUsd: 0.037, flagged: false, details: { kind: 'stream', inputTokens: 10_000, outputTokens: 2_000, cachedInputTokens: 8_000, reasoningTokens: 1_500 } })
  })

  it('charges the whole reservation, flagged, for usage it cannot read, and still refuses a bad price', async () => {
    const haldir = createHaldir()
    const session = await haldir.createSession({ agentId: 'model', spendLimit: 1 })
    const price = { inputPerMTok: 3, outputPerMTok: 15 }
    const entry = await settleModelUsage(await haldir.reserve(session.id, 0.02), { usage: { inputTokens: -5, outputTokens: 10 }, price, maxCost: 0.02, kind: 'generate' })
    expect(entry).toMatchObject({ costUsd: 0.02, flagged: true })
    expect(entry.reason).toMatch(/^token usage unreadable .*inputTokens/)
    const hold = await haldir.reserve(session.id, 0.02)
    await expect(settleModelUsage(hold, { usage: { inputTokens: 1 }, price: { inputPerMTok: -3, outputPerMTok: 15 }, maxCost: 0.02, kind: 'generate' })).rejects.toThrow(/price.inputPerMTok/)
  })
})
