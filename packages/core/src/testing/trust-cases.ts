import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createHaldir } from '../create-haldir.ts'
import { BudgetExceededError } from '../errors/budget-exceeded-error.ts'
import { HaldirError } from '../errors/haldir-error.ts'
import { HoldExpiredError } from '../errors/hold-expired-error.ts'
import { IdempotencyError } from '../errors/idempotency-error.ts'
import { IntegrityError } from '../errors/integrity-error.ts'
import { NotFoundError } from '../errors/not-found-error.ts'
import { SessionExpiredError } from '../errors/session-expired-error.ts'
import { SessionRevokedError } from '../errors/session-revoked-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import type { CreateSessionOptions, Haldir, Session } from '../types.ts'
import { withHaldir } from '../with-haldir.ts'
import type { AuditTamper } from './audit-tamper.ts'
import type { BackendUnderTest, ConformanceHook } from './test-backend.ts'

/** What the trust cases need from the suite that runs them. */
export interface TrustContext {
  haldir: () => Haldir
  subject: () => BackendUnderTest
  tenant: () => string
  session: (extra?: Partial<CreateSessionOptions>) => Promise<Session>
  needs: (hook: ConformanceHook) => (title: string, fn: () => Promise<void>) => void
}

const errorOf = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error)

/**
 * The promises a governance layer must keep under replays, faults, bad bytes and typos, tried as
 * an attacker or a careless caller would (issue "Trust"). Every case here failed on the engine
 * before those fixes.
 */
export function trustCases(context: TrustContext): void {
  const { session, needs } = context
  const haldir = () => context.haldir()
  const clock = () => {
    const given = context.subject().clock
    if (!given) throw new Error('the clock hook is needed')
    return given
  }
  const tamper = () => context.subject().tamper as AuditTamper

  describe('trust: one idempotency key, one execution', () => {
    it('refuses (and audits) a replay after the session was revoked: the call never runs again', async () => {
      const s = await session()
      const runs: string[] = []
      const search = withHaldir(
        async (query: string) => {
          runs.push(query)
          return 'hits'
        },
        { haldir: haldir(), sessionId: s.id, scope: 'browse', auditName: 'search', cost: 0.01, idempotencyKey: () => 'key-revoked' },
      )
      await search('first')
      await haldir().revokeSession(s.id)
      for (let attempt = 0; attempt < 8; attempt++) expect(SessionRevokedError.isInstance(await errorOf(search('again')))).toBe(true)
      expect(runs).toEqual(['first'])
      const payment = await haldir().authorizePayment(s.id, 0.01, { idempotencyKey: 'pay-revoked' }).catch((error: unknown) => error)
      expect(SessionRevokedError.isInstance(payment)).toBe(true)
      const denied = await haldir().getAuditTrail({ sessionId: s.id, outcome: 'denied' })
      expect(denied.count).toBe(9)
      expect(denied.entries.every((entry) => entry.flagged && entry.reason === 'session revoked')).toBe(true)
    })

    needs('clock')('refuses (and audits) a payment replayed after the session expired', async () => {
      const s = await session({ ttl: 60 })
      const receipt = await haldir().authorizePayment(s.id, 0.25, { idempotencyKey: 'pay-expired' })
      expect((await haldir().authorizePayment(s.id, 0.25, { idempotencyKey: 'pay-expired' })).entry.id).toBe(receipt.entry.id)
      clock().advance(61_000)
      expect(SessionExpiredError.isInstance(await errorOf(haldir().authorizePayment(s.id, 0.25, { idempotencyKey: 'pay-expired' })))).toBe(true)
      expect((await haldir().getSpend(s.id)).totalUsd).toBe(0.25)
      expect((await haldir().getAuditTrail({ sessionId: s.id, outcome: 'denied' })).entries[0]).toMatchObject({ flagged: true, action: 'payment' })
    })

    it('refuses a replay of a gate whose hold is settled: 9 attempts, 1 execution, 1 charge', async () => {
      const s = await session()
      const runs: number[] = []
      const send = withHaldir(
        async (to: string) => {
          runs.push(runs.length)
          return `sent to ${to}`
        },
        { haldir: haldir(), sessionId: s.id, scope: 'browse', auditName: 'send', cost: 0.5, idempotencyKey: () => 'order-42' },
      )
      expect(await send('a@b.c')).toBe('sent to a@b.c')
      for (let attempt = 0; attempt < 8; attempt++) {
        const refused = await errorOf(send('a@b.c'))
        expect(IdempotencyError.isInstance(refused) && refused.code).toBe('idempotency_replayed')
      }
      expect(runs).toEqual([0])
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 0.5, reservedUsd: 0 })
      const trail = (await haldir().getAuditTrail({ sessionId: s.id })).entries.filter((entry) => entry.tool === 'send')
      expect(trail.filter((entry) => entry.ledger?.op === 'reserve')).toHaveLength(1)
      expect(trail.filter((entry) => entry.ledger?.op === 'settle' && entry.outcome === 'ok')).toHaveLength(1)
      expect(trail.filter((entry) => entry.outcome === 'denied' && entry.flagged)).toHaveLength(8)
    })

    it('runs a call once when the same key is used by concurrent calls in one process', async () => {
      const s = await session()
      let runs = 0
      const slow = withHaldir(
        async () => {
          runs++
          await new Promise((resolve) => setTimeout(resolve, 20))
          return runs
        },
        { haldir: haldir(), sessionId: s.id, scope: 'browse', auditName: 'slow', cost: 0.1, idempotencyKey: () => 'same-key' },
      )
      const results = await Promise.all(Array.from({ length: 10 }, () => slow()))
      expect(runs).toBe(1)
      expect(new Set(results)).toEqual(new Set([1]))
      expect((await haldir().getSpend(s.id)).totalUsd).toBe(0.1)
    })

    it('returns the same open hold to a retry before the call settles', async () => {
      const s = await session()
      const first = await haldir().gate({ sessionId: s.id, tool: 'search', scope: 'browse', maxCostUsd: 1, idempotencyKey: 'retry-open' })
      const retry = await haldir().gate({ sessionId: s.id, tool: 'search', scope: 'browse', maxCostUsd: 1, idempotencyKey: 'retry-open' })
      expect(first.allowed && retry.allowed && retry.hold.id === first.hold.id).toBe(true)
      expect((await haldir().getSpend(s.id)).reservedUsd).toBe(1)
    })

    it.each([
      ['another amount', { maxCostUsd: 5 }],
      ['another scope', { scope: 'read' }],
      ['another tool', { tool: 'other' }],
      ['another action', { action: 'other' }],
    ])('refuses a key reused for %s with a typed conflict, charging nothing', async (_label, change) => {
      const s = await session()
      const key = `reuse-${randomUUID()}`
      await haldir().gate({ sessionId: s.id, tool: 'search', scope: 'browse', maxCostUsd: 1, idempotencyKey: key })
      const conflict = await errorOf(haldir().gate({ sessionId: s.id, tool: 'search', scope: 'browse', maxCostUsd: 1, idempotencyKey: key, ...change }))
      expect(IdempotencyError.isInstance(conflict) && conflict.code).toBe('idempotency_conflict')
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 1 })
    })

    it('refuses a key reused for another mode or another session, charging nothing', async () => {
      const s = await session()
      const other = await session()
      const key = `mode-${randomUUID()}`
      await haldir().authorizePayment(s.id, 1, { idempotencyKey: key })
      const asGate = await errorOf(haldir().gate({ sessionId: s.id, tool: 'payment', maxCostUsd: 1, idempotencyKey: key }))
      expect(IdempotencyError.isInstance(asGate) && asGate.code).toBe('idempotency_conflict')
      const elsewhere = await errorOf(haldir().authorizePayment(other.id, 1, { idempotencyKey: key }))
      expect(IdempotencyError.isInstance(elsewhere) && elsewhere.code).toBe('idempotency_conflict')
      expect((await haldir().getSpend(s.id)).totalUsd).toBe(1)
      expect(await haldir().getSpend(other.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    })
  })

  describe('trust: what is hashed is what is stored', () => {
    it('refuses a lone surrogate or NUL in identifiers and names, before anything is written', async () => {
      const s = await session()
      await expect(haldir().createSession({ agentId: 'agent\ud800' })).rejects.toBeInstanceOf(ValidationError)
      await expect(haldir().gate({ sessionId: s.id, tool: 'to\udc00ol' })).rejects.toBeInstanceOf(ValidationError)
      await expect(haldir().logAction(s.id, { tool: 'x', action: 'a\u0000b' })).rejects.toBeInstanceOf(ValidationError)
      await expect(haldir().storeSecret('name\ud83d', 'value-1234')).rejects.toBeInstanceOf(ValidationError)
      expect((await haldir().getAuditTrail({ sessionId: s.id })).count).toBe(1)
    })

    it('stores free text and details with lone surrogates and NUL normalised, and the trail verifies', async () => {
      const s = await session()
      await haldir().logAction(s.id, { tool: 'x', reason: 'bad \ud800 byte and \u0000 nul', details: { 'key\u0000': 'v\udfff', nested: ['\ud83d', 'ok 😀'] } })
      const failing = withHaldir(
        async () => {
          throw new Error('upstream said \ud800 and \u0000')
        },
        { haldir: haldir(), sessionId: s.id, scope: 'browse', auditName: 'failing' },
      )
      await expect(failing()).rejects.toThrow()
      const entries = (await haldir().getAuditTrail({ sessionId: s.id })).entries
      expect(entries[1]).toMatchObject({ reason: 'bad \uFFFD byte and \uFFFD nul', details: { 'key\uFFFD': 'v\uFFFD', nested: ['\uFFFD', 'ok 😀'] } })
      expect(entries.at(-1)?.reason).toBe('upstream said \uFFFD and \uFFFD')
      expect(await haldir().verifyAuditTrail(s.id)).toEqual({ ok: true, count: entries.length })
    })
  })

  describe('trust: holds lease', () => {
    needs('clock')("releases a crashed call's hold when its lease ends, at the chain's next decision, audited and flagged", async () => {
      const crew = await session({ spendLimit: 5, scopes: ['*'] })
      const crashed = await session({ parentId: crew.id, spendLimit: null, agentId: 'crashed' })
      const sibling = await session({ parentId: crew.id, spendLimit: null, agentId: 'sibling' })
      const orphan = await haldir().reserve(crashed.id, 4, { tool: 'llm', holdTtl: 30 })
      expect(BudgetExceededError.isInstance(await errorOf(haldir().authorizePayment(sibling.id, 2)))).toBe(true)
      clock().advance(31_000)
      await haldir().authorizePayment(sibling.id, 2)
      expect(await haldir().getSpend(crew.id)).toMatchObject({ totalUsd: 2, reservedUsd: 0 })
      const expired = (await haldir().getAuditTrail({ sessionId: crashed.id })).entries.at(-1)
      expect(expired).toMatchObject({ action: 'hold.expire', tool: 'llm', outcome: 'error', flagged: true, costUsd: 0 })
      const late = await errorOf(orphan.settle(1))
      expect(HoldExpiredError.isInstance(late)).toBe(true)
      expect((await haldir().getSpend(crew.id)).totalUsd).toBe(2)
      expect(await haldir().verifyAuditTrail(crashed.id)).toMatchObject({ ok: true })
    })

    needs('clock')('refuses to settle a hold after its lease, releasing it, and never charges', async () => {
      const s = await session()
      const hold = await haldir().reserve(s.id, 1, { holdTtl: 5 })
      clock().advance(5_000)
      expect(HoldExpiredError.isInstance(await errorOf(hold.settle(1)))).toBe(true)
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
      expect(HoldExpiredError.isInstance(await errorOf(hold.settle(1)))).toBe(true)
    })

    needs('clock')('gives every hold a lease: the default, never past the session', async () => {
      const s = await session({ ttl: 600 })
      const hold = await haldir().reserve(s.id, 0.1)
      const long = await session({ ttl: 7200 })
      await haldir().reserve(long.id, 0.1)
      const holds = await haldir().listHolds()
      const own = holds.find((listed) => listed.id === hold.id)
      expect(own && Date.parse(own.expiresAt)).toBe(Date.parse(s.expiresAt))
      const other = holds.find((listed) => listed.sessionId === long.id)
      expect(other && Date.parse(other.expiresAt) - Date.parse(other.createdAt)).toBe(15 * 60_000)
    })

    needs('clock')('lists holds, releases one by hand, and sweeps the expired ones', async () => {
      const s = await session()
      const stuck = await haldir().reserve(s.id, 1, { tool: 'stuck', holdTtl: 3600 })
      const short = await haldir().reserve(s.id, 0.5, { tool: 'short', holdTtl: 10 })
      // Both made at the same instant here: the order between them is not the point.
      const listed = (await haldir().listHolds({ sessionId: s.id })).map((hold) => [hold.tool, hold.amountUsd])
      expect(listed.sort()).toEqual([
        ['short', 0.5],
        ['stuck', 1],
      ])
      const released = await haldir().releaseHold(stuck.id, { reason: 'operator: tool hung' })
      expect(released).toMatchObject({ action: 'hold.release', tool: 'stuck', flagged: true, reason: 'operator: tool hung', costUsd: 0 })
      await expect(haldir().releaseHold(stuck.id)).rejects.toBeInstanceOf(NotFoundError)
      clock().advance(11_000)
      expect(await haldir().sweepHolds()).toMatchObject({ released: expect.any(Number) })
      expect(await haldir().listHolds({ sessionId: s.id })).toEqual([])
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
      expect(HoldExpiredError.isInstance(await errorOf(short.settle(0.5)))).toBe(true)
    })
  })

  describe('trust: no secret value in any trail', () => {
    it("masks every vault value of the tenant in details and reasons, even from a client that never saw it", async () => {
      const s = await session()
      const name = `token_${randomUUID().slice(0, 8)}`
      await haldir().storeSecret(name, 'sk-live-9f8e7d6c5b4a', { scopeRequired: 'read' })
      // A second client of the same tenant: it never stored or read the secret.
      const stranger = createHaldir({ backend: context.subject().backend, tenant: context.tenant() })
      const failing = withHaldir(
        async () => {
          throw new Error('password authentication failed for "sk-live-9f8e7d6c5b4a"')
        },
        { haldir: stranger, sessionId: s.id, scope: 'browse', auditName: 'db' },
      )
      await expect(failing()).rejects.toThrow()
      await stranger.logAction(s.id, { tool: 'http', reason: 'sent sk-live-9f8e7d6c5b4a', details: { header: 'Bearer sk-live-9f8e7d6c5b4a', ['sk-live-9f8e7d6c5b4a']: 1 } })
      const trail = JSON.stringify(await haldir().getAuditTrail({ sessionId: s.id }))
      expect(trail).not.toContain('sk-live-9f8e7d6c5b4a')
      expect(trail).toContain('[REDACTED]')
      expect(await haldir().verifyAuditTrail(s.id)).toMatchObject({ ok: true })
    })

    it('refuses to store a secret too short to be masked', async () => {
      await expect(haldir().storeSecret(`short_${randomUUID().slice(0, 8)}`, 'abc')).rejects.toBeInstanceOf(ValidationError)
    })
  })

  describe('trust: a ciphertext opens only where it was sealed', () => {
    needs('tamper')("refuses a secret copied into another tenant's vault", async () => {
      const name = `copied_${randomUUID().slice(0, 8)}`
      await haldir().storeSecret(name, 'payments-admin-key')
      const subject = context.subject()
      const otherTenant = subject.tenants?.other ?? `t_${randomUUID()}`
      await tamper().rebindSecret(context.tenant(), name, { toTenant: otherTenant })
      const thief = createHaldir({ backend: subject.otherTenant ?? subject.backend, tenant: otherTenant })
      const session = await thief.createSession({ agentId: 'thief', scopes: ['*'] })
      expect(IntegrityError.isInstance(await errorOf(thief.getSecret(name, { sessionId: session.id })))).toBe(true)
      const read = (await thief.getAuditTrail({ sessionId: session.id })).entries.at(-1)
      expect(read).toMatchObject({ action: 'secret.read', outcome: 'error', flagged: true })
      expect(JSON.stringify(read)).not.toContain('payments-admin-key')
    })

    needs('tamper')('refuses a secret whose required scope was cleared in storage', async () => {
      const name = `scoped_${randomUUID().slice(0, 8)}`
      await haldir().storeSecret(name, 'payments-admin-key', { scopeRequired: 'payments:admin' })
      await tamper().rebindSecret(context.tenant(), name, { scopeRequired: null })
      const reader = await session({ scopes: ['read'] })
      expect(IntegrityError.isInstance(await errorOf(haldir().getSecret(name, { sessionId: reader.id })))).toBe(true)
    })
  })

  describe('trust: typos never widen a permission', () => {
    it('refuses unknown option keys, naming the key and the closest valid one', async () => {
      const unknown = async (promise: Promise<unknown>, pattern: RegExp) => {
        const error = await errorOf(promise)
        expect(ValidationError.isInstance(error)).toBe(true)
        expect(HaldirError.isInstance(error) && JSON.stringify(error.data)).toMatch(pattern)
      }
      await unknown(haldir().createSession({ agentId: 'a', spendlimit: 5 } as never), /unknown option 'spendlimit' \(did you mean 'spendLimit'\?\)/)
      await unknown(haldir().createSession({ agentId: 'a', budget: 3 } as never), /unknown option 'budget'/)
      const s = await session()
      await unknown(haldir().authorizePayment(s.id, 1, { idempotencykey: 'x' } as never), /did you mean 'idempotencyKey'/)
      await unknown(haldir().gate({ sessionId: s.id, tool: 't', maxCost: 1 } as never), /unknown option 'maxCost'/)
      await unknown(haldir().reserve(s.id, 1, { scpoe: 'x' } as never), /did you mean 'scope'/)
      await unknown(haldir().storeSecret(`n_${randomUUID().slice(0, 6)}`, 'value-1234', { scope: 'x' } as never), /unknown option 'scope'/)
      expect(() => createHaldir({ backend: context.subject().backend, backnd: 1 } as never)).toThrow(/did you mean 'backend'/)
      expect(() => withHaldir(async () => 1, { haldir: haldir(), sessionId: s.id, cots: 1 } as never)).toThrow(/unknown option 'cots' \(did you mean 'cost'\?\)/)
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    })
  })

  describe('trust: bad inputs get typed errors, never a half-written state', () => {
    it('refuses details 20,000 levels deep, larger than 64 KiB, or whose getter or toJSON throws', async () => {
      const s = await session()
      let deep: Record<string, unknown> = {}
      for (let level = 0; level < 20_000; level++) deep = { deep }
      await expect(haldir().logAction(s.id, { tool: 'x', details: deep })).rejects.toBeInstanceOf(ValidationError)
      await expect(haldir().logAction(s.id, { tool: 'x', details: { blob: 'x'.repeat(70_000) } })).rejects.toBeInstanceOf(ValidationError)
      const getter = Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new TypeError('nope') } })
      await expect(haldir().logAction(s.id, { tool: 'x', details: { getter } })).rejects.toBeInstanceOf(ValidationError)
      await expect(haldir().logAction(s.id, { tool: 'x', details: { value: { toJSON: () => { throw new Error('nope') } } } })).rejects.toBeInstanceOf(ValidationError)
      expect((await haldir().getAuditTrail({ sessionId: s.id })).count).toBe(1)
    })

    it('refuses a ttl past ten years, creating nothing', async () => {
      const before = (await haldir().getAuditTrail({ agentId: 'too-long' })).count
      await expect(haldir().createSession({ agentId: 'too-long', ttl: 2 ** 53 })).rejects.toBeInstanceOf(ValidationError)
      expect((await haldir().getAuditTrail({ agentId: 'too-long' })).count).toBe(before)
    })

    it('cuts a page of large entries at a bounded size, with the rest on the next page', async () => {
      const s = await session()
      for (let index = 0; index < 80; index++) await haldir().logAction(s.id, { tool: 'bulk', details: { blob: 'x'.repeat(60_000), index } })
      const first = await haldir().getAuditTrail({ sessionId: s.id })
      expect(JSON.stringify(first).length).toBeLessThanOrEqual(4 * 1024 * 1024 + 100_000)
      expect(first.entries.length).toBeLessThan(81)
      expect(first.nextOffset).toBe(first.entries.length)
      let seen = first.entries.length
      for (let offset = first.nextOffset; offset !== null; ) {
        const page = await haldir().getAuditTrail({ sessionId: s.id, offset })
        seen += page.entries.length
        offset = page.nextOffset
      }
      expect(seen).toBe(81)
    })
  })
}
