import { describe, expect, it } from 'vitest'
import { ValidationError } from '../errors/validation-error.ts'
import { scopeSchema } from '../schemas.ts'
import { rememberValid } from './valid-strings.ts'

describe('rememberValid', () => {
  it('accepts what the schema accepts, again and again, and refuses the rest every time', () => {
    const scope = rememberValid(scopeSchema)
    expect(scope('db:*', 'scope')).toBe('db:*')
    expect(scope('db:*', 'scope')).toBe('db:*')
    for (let attempt = 0; attempt < 3; attempt++) expect(() => scope('a*b', 'scope')).toThrow(ValidationError)
    expect(() => scope(42, 'scope')).toThrow(/scope/)
  })

  it('stays bounded while accepting thousands of distinct strings', () => {
    const scope = rememberValid(scopeSchema)
    for (let index = 0; index < 10_000; index++) expect(scope(`s${index}`, 'scope')).toBe(`s${index}`)
    expect(() => scope('has space', 'scope')).toThrow(ValidationError)
  })
})
