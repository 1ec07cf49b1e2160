import { describe, expect, expectTypeOf, it } from 'vitest'
import { createHaldir } from './create-haldir.ts'
import { withHaldir } from './with-haldir.ts'

describe('withHaldir types', () => {
  const haldir = createHaldir()
  const search = async (query: string, limit: number) => ({ query, hits: limit })

  it('keeps the parameters and resolves to the same result', async () => {
    const session = await haldir.createSession({ agentId: 'typed', scopes: ['browse'] })
    const governed = withHaldir(search, { haldir, sessionId: session.id, scope: 'browse', cost: 0.01 })
    expectTypeOf(governed).parameters.toEqualTypeOf<[string, number]>()
    expectTypeOf(governed).returns.resolves.toEqualTypeOf<{ query: string; hits: number }>()
    expect(await governed('x', 3)).toEqual({ query: 'x', hits: 3 })
    expect(governed.name).toBe('search')
    const entry = (await haldir.getAuditTrail({ sessionId: session.id })).entries.at(-1)
    expect(entry?.tool).toBe('search')
  })

  it("adds string to the result when denials are reported as messages", () => {
    const governed = withHaldir(search, { haldir, sessionId: 's', onDenied: 'message' })
    expectTypeOf(governed).returns.resolves.toEqualTypeOf<{ query: string; hits: number } | string>()
  })

  it('types the cost function with the argument list and the result', () => {
    withHaldir(search, {
      haldir,
      sessionId: 's',
      maxCost: 1,
      cost: (args, result) => {
        expectTypeOf(args).toEqualTypeOf<[string, number]>()
        expectTypeOf(result).toEqualTypeOf<{ query: string; hits: number }>()
        return result.hits * 0.001
      },
    })
  })
})
