import { describe, expect, it } from 'vitest'
import { BudgetExceededError } from '../errors/budget-exceeded-error.ts'
import { SessionRevokedError } from '../errors/session-revoked-error.ts'
import type { CreateSessionOptions, Haldir, Session } from '../types.ts'

export interface SliceContext {
  haldir: () => Haldir
  session: (extra?: Partial<CreateSessionOptions>) => Promise<Session>
  concurrency: number
}

const errorOf = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error)

/**
 * Crews: what a parent's members spend. A backend may let members draw on escrowed slices of the
 * parent's budget (PostgreSQL does by default, memory when asked), or lock the parent on every
 * call; either way these hold: the parent's money is exact the moment a member's call returns,
 * every ancestor's limit holds under concurrency, refusals are exact, revocation is immediate.
 */
export function sliceCases(context: SliceContext): void {
  const { haldir, session, concurrency } = context

  describe("crews: a parent's money is its members' money, exactly", () => {
    it("counts its members' calls the moment they return, by tool, and its trail balances", async () => {
      const crew = await session({ spendLimit: 10, scopes: ['*'] })
      const [a, b] = await Promise.all([session({ parentId: crew.id, spendLimit: null }), session({ parentId: crew.id, spendLimit: null })]) as [Session, Session]
      for (let index = 0; index < 5; index++) await haldir().authorizePayment(a.id, 0.1, { tool: 'search' })
      const hold = await haldir().reserve(b.id, 0.3, { tool: 'llm' })
      expect(await haldir().getSpend(crew.id)).toMatchObject({ totalUsd: 0.5, reservedUsd: 0.3, remainingUsd: 9.2, byTool: { search: 0.5 } })
      expect(await haldir().getSpend(a.id)).toMatchObject({ totalUsd: 0.5, reservedUsd: 0, byTool: { search: 0.5 } })
      expect(await haldir().getSpend(b.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0.3 })
      await hold.settle(0.2)
      expect(await haldir().getSpend(crew.id)).toMatchObject({ totalUsd: 0.7, reservedUsd: 0, byTool: { search: 0.5, llm: 0.2 } })
      expect(await haldir().verifyAuditTrail(crew.id)).toMatchObject({ ok: true })
      expect(await haldir().verifyAuditTrail(b.id)).toMatchObject({ ok: true })
    })

    it("holds a grandparent's limit across a child's and a grandchild's concurrent calls", async () => {
      const root = await session({ spendLimit: 1, scopes: ['*'] })
      const middle = await session({ parentId: root.id, spendLimit: null })
      const leaf = await session({ parentId: middle.id, spendLimit: null })
      const calls = Array.from({ length: Math.min(concurrency, 200) }, (_, index) => haldir().authorizePayment((index % 2 ? leaf : middle).id, 0.1))
      const results = await Promise.allSettled(calls)
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10)
      const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []))
      expect(refusals.every((error) => BudgetExceededError.isInstance(error) && error.limitingSessionId === root.id)).toBe(true)
      expect(await haldir().getSpend(root.id)).toMatchObject({ totalUsd: 1, reservedUsd: 0, remainingUsd: 0 })
      const [ofMiddle, ofLeaf] = await Promise.all([haldir().getSpend(middle.id), haldir().getSpend(leaf.id)])
      expect(ofMiddle.totalUsd).toBe(1)
      const byLeaf = results.filter((result, index) => index % 2 === 1 && result.status === 'fulfilled').length
      expect(ofLeaf.totalUsd).toBeCloseTo(byLeaf * 0.1, 10)
      for (const id of [root.id, middle.id, leaf.id]) expect(await haldir().verifyAuditTrail(id)).toMatchObject({ ok: true })
    })

    it("keeps a member's own limit exact while the parent has room", async () => {
      const crew = await session({ spendLimit: 100, scopes: ['*'] })
      const member = await session({ parentId: crew.id, spendLimit: 0.5 })
      const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, 200) }, () => haldir().authorizePayment(member.id, 0.1)))
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(5)
      const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []))
      expect(refusals.every((error) => BudgetExceededError.isInstance(error) && error.limitingSessionId === member.id)).toBe(true)
      expect(await haldir().getSpend(crew.id)).toMatchObject({ totalUsd: 0.5, reservedUsd: 0 })
    })

    it("refuses a member's next call once the parent is revoked, and the parent's money stands as it was", async () => {
      const crew = await session({ spendLimit: 5, scopes: ['*'] })
      const member = await session({ parentId: crew.id, spendLimit: null })
      for (let index = 0; index < 3; index++) await haldir().authorizePayment(member.id, 0.1, { tool: 'search' })
      await haldir().revokeSession(crew.id)
      expect(SessionRevokedError.isInstance(await errorOf(haldir().authorizePayment(member.id, 0.1)))).toBe(true)
      expect(SessionRevokedError.isInstance(await errorOf(haldir().reserve(member.id, 0.1)))).toBe(true)
      expect(await haldir().getSpend(crew.id)).toMatchObject({ totalUsd: 0.3, reservedUsd: 0, byTool: { search: 0.3 } })
      expect(await haldir().verifyAuditTrail(crew.id)).toMatchObject({ ok: true })
    })

    it('lets a member spend what a revoked sibling left: a refusal is never owed to money set aside for another', async () => {
      const crew = await session({ spendLimit: 1, scopes: ['*'] })
      const [first, second] = (await Promise.all([session({ parentId: crew.id, spendLimit: null }), session({ parentId: crew.id, spendLimit: null })])) as [Session, Session]
      await haldir().authorizePayment(first.id, 0.1)
      await haldir().revokeSession(first.id)
      // The rest of the budget is the sibling's, to the last cent, one call at a time.
      for (let index = 0; index < 9; index++) await haldir().authorizePayment(second.id, 0.1)
      expect(BudgetExceededError.isInstance(await errorOf(haldir().authorizePayment(second.id, 0.01)))).toBe(true)
      expect(await haldir().getSpend(crew.id)).toMatchObject({ totalUsd: 1, reservedUsd: 0, remainingUsd: 0 })
    })

    it('lets the last cent go to whichever member asks, whatever the others were set aside', async () => {
      const crew = await session({ spendLimit: 1, scopes: ['*'] })
      const members = await Promise.all(Array.from({ length: 4 }, () => session({ parentId: crew.id, spendLimit: null })))
      // Each member makes one call (and so may be set money aside), then one member spends the rest alone.
      for (const member of members) await haldir().authorizePayment(member.id, 0.01)
      const last = members[3] as Session
      let passed = 0
      while (passed < 200 && !BudgetExceededError.isInstance(await errorOf(haldir().authorizePayment(last.id, 0.01)))) passed++
      expect(passed).toBe(96)
      expect(await haldir().getSpend(crew.id)).toMatchObject({ totalUsd: 1, reservedUsd: 0 })
    })

    it('counts every member call in a parent budget window', async () => {
      const crew = await session({ spendLimit: 100, scopes: ['*'], windows: [{ period: 'day', limit: 0.5, timeZone: 'UTC' }] })
      const member = await session({ parentId: crew.id, spendLimit: null })
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => haldir().authorizePayment(member.id, 0.1)))
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(5)
      expect((await haldir().getSpend(crew.id)).windows[0]).toMatchObject({ spentUsd: 0.5, remainingUsd: 0 })
    })
  })
}
