import { describe, expect, it } from 'vitest'
import { BackendError, errorFromJson, ForbiddenError, HaldirError, HaldirPermissionError } from './index.ts'

describe('ForbiddenError', () => {
  it('round-trips through its wire shape with role, operation and allowed roles', () => {
    const error = new ForbiddenError({ role: 'auditor', operation: 'createSession', allowedRoles: ['admin', 'agent'] })
    expect(error.message).toBe("An API key with role 'auditor' may not createSession (allowed: admin, agent)")
    const copy = errorFromJson(JSON.parse(JSON.stringify(error.toJSON())), 403)
    expect(copy).toBeInstanceOf(ForbiddenError)
    expect(copy).toMatchObject({ code: 'forbidden', role: 'auditor', operation: 'createSession', allowedRoles: ['admin', 'agent'], message: error.message })
  })

  it('is a HaldirError but not a gate refusal (adapters must not turn it into a BLOCKED message)', () => {
    const error = new ForbiddenError({ role: 'agent', operation: 'putSecret' })
    expect(HaldirError.isInstance(error)).toBe(true)
    expect(HaldirPermissionError.isInstance(error)).toBe(false)
  })

  it('keeps the rate-limit code on the BackendError a 429 becomes', () => {
    const error = errorFromJson({ code: 'rate_limit_exceeded', message: 'Rate limit exceeded' }, 429)
    expect(BackendError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'rate_limit_exceeded', status: 429 })
  })
})
