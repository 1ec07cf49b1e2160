import { describe, expect, it } from 'vitest'
import { ValidationError } from '../errors/validation-error.ts'
import { DEFAULT_MAX_COST, resolveToolPolicy } from './resolve-tool-policy.ts'

describe('resolveToolPolicy: one vocabulary for every adapter', () => {
  const perCall = (_input: never, _result: never) => 0.5

  it('takes the map entry first, then the single default, then the tool name as scope', () => {
    const options = { scopes: { search: 'browse', ping: null }, scope: 'default-scope', costs: { search: 0.01 }, cost: 0.02 }
    expect(resolveToolPolicy('search', options)).toEqual({ scope: 'browse', cost: 0.01, maxCost: undefined })
    expect(resolveToolPolicy('ping', options)).toEqual({ scope: null, cost: 0.02, maxCost: undefined })
    expect(resolveToolPolicy('other', options)).toEqual({ scope: 'default-scope', cost: 0.02, maxCost: undefined })
    // Nothing is allowed by omission: an unlisted tool needs the scope named after it.
    expect(resolveToolPolicy('send_email', {})).toEqual({ scope: 'send_email', cost: undefined, maxCost: undefined })
  })

  it('reserves maxCost (per tool, else the default, else $1) before a tool priced after the call', () => {
    expect(resolveToolPolicy('llm', { costs: { llm: perCall }, maxCosts: { llm: 0.2 } }).maxCost).toBe(0.2)
    expect(resolveToolPolicy('llm', { cost: perCall, maxCost: 0.3 }).maxCost).toBe(0.3)
    expect(resolveToolPolicy('llm', { cost: perCall }).maxCost).toBe(DEFAULT_MAX_COST)
  })

  it('does not read inherited keys as tool names', () => {
    expect(resolveToolPolicy('toString', { scopes: {} }).scope).toBe('toString')
  })

  it('refuses a map that is not an object', () => {
    expect(() => resolveToolPolicy('search', { scopes: 'browse' as never })).toThrow(ValidationError)
  })
})
