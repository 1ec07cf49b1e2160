import { describe, expect, it } from 'vitest'
import { createHaldir } from '../create-haldir.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { memoryBackend } from '../memory/memory-backend.ts'
import { memoryInternals } from '../memory/memory-store.ts'
import { resolveSlices } from './slices.ts'

// What the conformance suite cannot see from outside: whether a member's calls leave the crew's
// own row alone, how big a slice is, and that a revoked member's slice goes back at once.
function crewOf(slices: boolean | { calls?: number; share?: number }) {
  const backend = memoryBackend({ slices })
  const haldir = createHaldir({ backend })
  const stored = (id: string) => {
    const { spentMicros, reservedMicros, slice } = backend[memoryInternals].stateOf(id)
    return { spentMicros, reservedMicros, freeMicros: slice?.freeMicros ?? 0, heldMicros: slice?.heldMicros ?? 0 }
  }
  return { haldir, stored }
}

describe('slices: escrowed parts of a parent budget', () => {
  it("leaves the crew's row alone while a member's slice covers its calls, and reports the crew's money exactly", async () => {
    const { haldir, stored } = crewOf(true)
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 10 })
    const member = await haldir.createSession({ agentId: 'member', scopes: ['search'], parentId: crew.id })
    await haldir.authorizePayment(member.id, 0.01, { tool: 'search' })
    // The first call reserved itself and 32 more like it on the crew.
    expect(stored(crew.id)).toEqual({ spentMicros: 0, reservedMicros: 330_000, freeMicros: 0, heldMicros: 330_000 })
    const before = stored(crew.id)
    for (let index = 0; index < 20; index++) await haldir.authorizePayment(member.id, 0.01, { tool: 'search' })
    const hold = await haldir.reserve(member.id, 0.05, { tool: 'llm' })
    await hold.settle(0.02)
    expect(stored(crew.id)).toEqual(before)
    expect(stored(member.id)).toMatchObject({ spentMicros: 230_000, reservedMicros: 0, freeMicros: 100_000 })
    expect(await haldir.getSpend(crew.id)).toMatchObject({ totalUsd: 0.23, reservedUsd: 0, byTool: { search: 0.21, llm: 0.02 } })
  })

  it("moves the crew's row on every call without slices", async () => {
    const { haldir, stored } = crewOf(false)
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 10 })
    const member = await haldir.createSession({ agentId: 'member', scopes: ['search'], parentId: crew.id })
    for (let index = 1; index <= 3; index++) {
      await haldir.authorizePayment(member.id, 0.01)
      expect(stored(crew.id)).toEqual({ spentMicros: index * 10_000, reservedMicros: 0, freeMicros: 0, heldMicros: 0 })
    }
  })

  it("sizes a slice by the call, the tightest ancestor's headroom and the member's own limit", async () => {
    const { haldir, stored } = crewOf({ calls: 10, share: 0.5 })
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 1 })
    const wide = await haldir.createSession({ agentId: 'wide', scopes: ['search'], parentId: crew.id })
    const narrow = await haldir.createSession({ agentId: 'narrow', scopes: ['search'], parentId: crew.id, spendLimit: 0.05 })
    await haldir.authorizePayment(wide.id, 0.01)
    // 10 more calls of $0.01: under half of the $0.99 left.
    expect(stored(wide.id).freeMicros).toBe(100_000)
    await haldir.authorizePayment(narrow.id, 0.01)
    // Its own limit leaves $0.04.
    expect(stored(narrow.id).freeMicros).toBe(40_000)
    // Past its slice: the slice's $0.01 spent moves to the crew and its free $0.10 goes back, then
    // the call and half of what it leaves ($1 - $0.01 spent - $0.05 narrow's - $0.50) are set aside.
    await haldir.authorizePayment(wide.id, 0.5)
    expect(stored(crew.id)).toEqual({ spentMicros: 10_000, reservedMicros: 50_000 + 500_000 + 220_000, freeMicros: 0, heldMicros: 50_000 + 500_000 + 220_000 })
    expect(stored(wide.id).freeMicros).toBe(220_000)
  })

  it("gives a revoked member's slice back to the crew at once", async () => {
    const { haldir, stored } = crewOf(true)
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 10 })
    const member = await haldir.createSession({ agentId: 'member', scopes: ['search'], parentId: crew.id })
    await haldir.authorizePayment(member.id, 0.01, { tool: 'search' })
    await haldir.authorizePayment(member.id, 0.01, { tool: 'search' })
    expect(stored(crew.id).reservedMicros).toBeGreaterThan(0)
    await haldir.revokeSession(member.id)
    expect(stored(crew.id)).toEqual({ spentMicros: 20_000, reservedMicros: 0, freeMicros: 0, heldMicros: 0 })
    expect(stored(member.id)).toMatchObject({ spentMicros: 20_000, freeMicros: 0 })
    expect((await haldir.getSpend(crew.id)).byTool).toEqual({ search: 0.02 })
  })

  it('never slices under an ancestor that counts every call', async () => {
    const { haldir, stored } = crewOf(true)
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['*'], spendLimit: 10, rateLimits: [{ calls: 100, per: 60 }] })
    const member = await haldir.createSession({ agentId: 'member', scopes: ['search'], parentId: crew.id })
    for (let index = 1; index <= 3; index++) {
      await haldir.authorizePayment(member.id, 0.01)
      expect(stored(crew.id)).toMatchObject({ spentMicros: index * 10_000, reservedMicros: 0, heldMicros: 0 })
    }
  })

  it('refuses bad slice options with a typed error before anything is made', () => {
    for (const bad of [{ calls: 0 }, { calls: 1.5 }, { share: 0 }, { share: 2 }, { share: Number.NaN }, { size: 3 }, 'yes']) {
      expect(() => memoryBackend({ slices: bad as never })).toThrow(ValidationError)
    }
    expect(resolveSlices(undefined, false)).toBeNull()
    expect(resolveSlices(true, false)).toEqual({ calls: 32, share: 0.125 })
    expect(resolveSlices({ calls: 4 }, false)).toEqual({ calls: 4, share: 0.125 })
  })
})
