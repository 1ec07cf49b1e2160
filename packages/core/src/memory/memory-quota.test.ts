import { describe, expect, it } from 'vitest'
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

  it('refuses unknown options of memoryBackend with a suggestion', () => {
    expect(() => memoryBackend({ masterkey: 'x' } as never)).toThrow(ValidationError)
    expect(() => memoryBackend({ masterkey: 'x' } as never)).toThrow(/did you mean 'masterKey'/)
  })
})
