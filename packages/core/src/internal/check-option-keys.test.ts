import { describe, expect, it } from 'vitest'
import { ValidationError } from '../errors/validation-error.ts'
import { checkOptionKeys, unknownKeyMessage } from './check-option-keys.ts'

describe('checkOptionKeys', () => {
  it('names an unknown key and suggests the closest valid one', () => {
    expect(unknownKeyMessage('spendlimit', ['agentId', 'spendLimit', 'ttl'])).toBe("unknown option 'spendlimit' (did you mean 'spendLimit'?)")
    expect(unknownKeyMessage('backnd', ['backend', 'tenant', 'redact'])).toBe("unknown option 'backnd' (did you mean 'backend'?)")
    expect(unknownKeyMessage('budget', ['agentId', 'spendLimit', 'ttl'])).toBe("unknown option 'budget' (valid: agentId, spendLimit, ttl)")
    expect(unknownKeyMessage('scpoe', ['scope', 'tool'])).toBe("unknown option 'scpoe' (did you mean 'scope'?)")
  })

  it('refuses unknown keys and non-objects, and accepts known keys and undefined', () => {
    expect(() => checkOptionKeys({ scope: 'a', scopes: {} }, ['scope', 'scopes'])).not.toThrow()
    expect(() => checkOptionKeys(undefined, ['scope'])).not.toThrow()
    expect(() => checkOptionKeys({ scpoe: 'a' }, ['scope'], 'options')).toThrow(ValidationError)
    expect(() => checkOptionKeys('memory', ['scope'], 'options')).toThrow(/must be an object/)
  })
})
