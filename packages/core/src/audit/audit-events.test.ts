import { describe, expect, it } from 'vitest'
import { createHaldir } from '../create-haldir.ts'
import { canonicalJson } from './canonical-json.ts'

describe('ledger marks', () => {
  it('are written in key order, so sealing never sorts them, and read back as their canonical JSON', async () => {
    const haldir = createHaldir()
    const session = await haldir.createSession({ agentId: 'marks', scopes: ['*'], spendLimit: 10, ttl: 3600 })
    await (await haldir.reserve(session.id, 0.5, { tool: 'llm' })).settle(0.25)
    await (await haldir.reserve(session.id, 0.5, { tool: 'llm' })).release()
    await haldir.authorizePayment(session.id, 0.1, { description: 'paid' })
    const { entries } = await haldir.getAuditTrail({ sessionId: session.id })
    const marks = entries.flatMap((entry) => (entry.ledger ? [entry.ledger as Record<string, unknown>] : []))
    expect(marks.map((mark) => mark.op).sort()).toEqual(['charge', 'reserve', 'reserve', 'settle', 'settle'])
    for (const mark of marks) {
      const keys = Object.keys(mark)
      expect(keys).toEqual([...keys].sort())
      expect(JSON.stringify(mark)).toBe(canonicalJson(mark))
    }
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
  })
})
