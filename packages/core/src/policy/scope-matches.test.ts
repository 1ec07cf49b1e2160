import { describe, expect, it } from 'vitest'
import { scopeCovers } from './scope-covers.ts'
import { scopeMatches } from './scope-matches.ts'

describe('scopeMatches', () => {
  it.each([
    ['read', 'read', true],
    ['read', 'reader', false],
    ['db:*', 'db:write', true],
    ['db:*', 'db:', true],
    ['db:*', 'db', false],
    ['db:*', 'dbx:write', false],
    ['*', 'anything', true],
  ])('%s grants %s: %s', (granted, requested, expected) => {
    expect(scopeMatches(granted, requested)).toBe(expected)
  })
})

describe('scopeCovers (attenuation)', () => {
  it.each([
    ['*', '*', true],
    ['*', 'db:*', true],
    ['db:*', 'db:write', true],
    ['db:*', 'db:admin:*', true],
    ['db:*', '*', false],
    ['db:write', 'db:*', false],
    ['db:write', 'db:write', true],
  ])('%s covers %s: %s', (parent, child, expected) => {
    expect(scopeCovers(parent, child)).toBe(expected)
  })
})
