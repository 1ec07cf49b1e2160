import { describe, expect, it } from 'vitest'
import {
  BackendError,
  BudgetExceededError,
  errorFromJson,
  HaldirError,
  HaldirPermissionError,
  NotFoundError,
  PermissionDeniedError,
  SessionExpiredError,
  SessionRevokedError,
  ValidationError,
} from './index.ts'

describe('HaldirError family', () => {
  const samples = [
    new ValidationError({ issues: [{ path: 'amount', message: 'must not be negative' }] }),
    new PermissionDeniedError({ sessionId: 'ses_1', scope: 'send_email' }),
    new BudgetExceededError({ sessionId: 'ses_1', limitingSessionId: 'ses_0', requestedUsd: 0.1, limitUsd: 5, spentUsd: 5, reservedUsd: 0 }),
    new SessionExpiredError({ sessionId: 'ses_1', expiresAt: '2026-01-01T00:00:00.000Z' }),
    new SessionRevokedError({ sessionId: 'ses_1', revokedSessionId: 'ses_0' }),
    new NotFoundError({ resource: 'session', id: 'ses_9' }),
    new BackendError({ message: 'connection refused', status: 503 }),
  ]

  it.each(samples.map((error) => [error.name, error] as const))('%s round-trips through its wire shape', (_name, error) => {
    const copy = errorFromJson(JSON.parse(JSON.stringify(error.toJSON())))
    expect(copy.constructor).toBe(error.constructor)
    expect(copy.code).toBe(error.code)
    expect(copy.message).toBe(error.message)
    expect(copy.data).toEqual(JSON.parse(JSON.stringify(error.data)))
  })

  it('groups every gate refusal under HaldirPermissionError', () => {
    const [validation, permission, budget, expired, revoked, notFound] = samples
    for (const error of [permission, budget, expired, revoked]) expect(HaldirPermissionError.isInstance(error)).toBe(true)
    for (const error of [validation, notFound]) expect(HaldirPermissionError.isInstance(error)).toBe(false)
    expect(BudgetExceededError.isInstance(permission)).toBe(false)
  })

  it('is recognised across two copies of the package by its Symbol.for marker', () => {
    // What a second copy's error looks like to this copy: same markers, different classes.
    const foreign = Object.assign(new Error('over budget'), {
      [Symbol.for('haldir.error')]: true,
      [Symbol.for('haldir.error.permission')]: true,
      [Symbol.for('haldir.error.budget_exceeded')]: true,
      code: 'budget_exceeded',
    })
    expect(foreign instanceof HaldirError).toBe(false)
    expect(HaldirError.isInstance(foreign)).toBe(true)
    expect(BudgetExceededError.isInstance(foreign)).toBe(true)
    expect(SessionExpiredError.isInstance(foreign)).toBe(false)
    expect(HaldirError.isInstance(new Error('x'))).toBe(false)
    expect(HaldirError.isInstance(null)).toBe(false)
  })

  it('keeps the cause', () => {
    const cause = new Error('socket hang up')
    expect(new BackendError({ message: 'failed', cause }).cause).toBe(cause)
  })

  it('maps unknown codes to BackendError', () => {
    expect(errorFromJson({ code: 'teapot', message: 'short and stout' }, 418)).toBeInstanceOf(BackendError)
  })
})
