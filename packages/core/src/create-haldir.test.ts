import { describe, expect, it } from 'vitest'
import { createHaldir } from './create-haldir.ts'
import { ValidationError } from './errors/validation-error.ts'
import { memoryBackend } from './memory/memory-backend.ts'

describe('createHaldir checks its backend', () => {
  it('refuses something that is not a backend, naming the option', () => {
    const error = (() => {
      try {
        createHaldir({ backend: 'memory' as never })
      } catch (caught) {
        return caught
      }
    })()
    expect(ValidationError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ issues: [{ path: 'backend', message: expect.stringContaining("the string 'memory'") }] })
  })

  it('refuses a backend of another contract version, saying which', () => {
    const current = memoryBackend()
    const legacy = { ...current, contractVersion: undefined }
    expect(() => createHaldir({ backend: legacy as never })).toThrow(/implements backend contract 1 \(no contractVersion\), but this @haldir\/core speaks contract 2/)
    expect(() => createHaldir({ backend: { ...current, contractVersion: 3 } as never })).toThrow(ValidationError)
    expect(() => createHaldir({ backend: current })).not.toThrow()
  })
})

describe('gate()', () => {
  it('rejects bad options (it never throws), and changes nothing', async () => {
    const haldir = createHaldir()
    const session = await haldir.createSession({ agentId: 'a', scopes: ['search'], spendLimit: 1 })
    const before = (await haldir.getAuditTrail({ sessionId: session.id })).entries
    for (const bad of [null, { sessionId: session.id, tool: 'search', maxCostUsd: -1 }, { sessionId: session.id, tool: 'search', maxCostUSD: 0.5 }, { sessionId: 42, tool: 'search' }, { sessionId: session.id, tool: 'search', details: 'not an object' }]) {
      let answer: Promise<unknown> | undefined
      expect(() => {
        answer = haldir.gate(bad as never)
      }).not.toThrow()
      await expect(answer).rejects.toSatisfy((error: unknown) => ValidationError.isInstance(error))
    }
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId: session.id })).entries).toEqual(before)
  })
})
