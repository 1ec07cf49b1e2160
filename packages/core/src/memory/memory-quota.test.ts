import { describe, expect, it } from 'vitest'
import type { HaldirBackend } from '../backend/haldir-backend.ts'
import { createHaldir } from '../create-haldir.ts'
import { QuotaExceededError } from '../errors/quota-exceeded-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { memoryBackend } from './memory-backend.ts'

describe('the memory backend bounds what each tenant keeps', () => {
  it('refuses writes past the quota with QuotaExceededError, writes nothing, and leaves other tenants alone', async () => {
    const backend = memoryBackend({ maxTenantBytes: 300_000 })
    const greedy = createHaldir({ backend, tenant: 'greedy' })
    const session = await greedy.createSession({ agentId: 'bulk' })
    let refused: unknown
    for (let index = 0; index < 20 && refused === undefined; index++) {
      refused = await greedy.logAction(session.id, { tool: 'bulk', details: { blob: 'x'.repeat(60_000), index } }).then(() => undefined, (error: unknown) => error)
    }
    expect(QuotaExceededError.isInstance(refused)).toBe(true)
    const trail = await greedy.getAuditTrail({ sessionId: session.id })
    expect(trail.count).toBeLessThan(6)
    expect(await greedy.verifyAuditTrail(session.id)).toEqual({ ok: true, count: trail.count })
    const modest = createHaldir({ backend, tenant: 'modest' })
    const other = await modest.createSession({ agentId: 'small' })
    await expect(modest.logAction(other.id, { tool: 'note' })).resolves.toMatchObject({ tool: 'note' })
  })

  it('sizes a gate the same whether the client counted its details as it cleaned them or the store serialises them', async () => {
    // Over the memory backend itself the client hands the store the details' JSON length; over a
    // wrapper the store serialises them. The same gates must fit under the same quota either way.
    const fitted = async (wrap: boolean) => {
      const real = memoryBackend({ maxTenantBytes: 400_000 })
      const backend: HaldirBackend = wrap ? { ...real, authorize: (request) => real.authorize(request) } : real
      const haldir = createHaldir({ backend })
      const session = await haldir.createSession({ agentId: 'bulk', spendLimit: null })
      let allowed = 0
      for (let index = 0; index < 100; index++) {
        const details = { note: `"quoted" \u0001 ${'x'.repeat(2_000 + index)}`, index, ratio: index / 7, tags: ['a', null, true] }
        const decision = await haldir.gate({ sessionId: session.id, tool: 'bulk', maxCostUsd: 0, details }).catch((error: unknown) => error)
        if (QuotaExceededError.isInstance(decision)) break
        if (!(decision as { allowed: boolean }).allowed) throw decision
        allowed++
        const released = await (decision as { hold: { release(): Promise<unknown> } }).hold.release().catch((error: unknown) => error)
        if (QuotaExceededError.isInstance(released)) break
      }
      return allowed
    }
    const counted = await fitted(false)
    expect(counted).toBeGreaterThan(10)
    expect(counted).toBeLessThan(100)
    expect(await fitted(true)).toBe(counted)
  })

  it('refuses unknown options of memoryBackend with a suggestion', () => {
    expect(() => memoryBackend({ masterkey: 'x' } as never)).toThrow(ValidationError)
    expect(() => memoryBackend({ masterkey: 'x' } as never)).toThrow(/did you mean 'masterKey'/)
  })
})
