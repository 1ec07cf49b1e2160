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
})
