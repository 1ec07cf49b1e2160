import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HaldirBackend } from '../backend/haldir-backend.ts'
import { createHaldir } from '../create-haldir.ts'
import { BudgetExceededError } from '../errors/budget-exceeded-error.ts'
import { HaldirPermissionError } from '../errors/haldir-permission-error.ts'
import { NotFoundError } from '../errors/not-found-error.ts'
import { PermissionDeniedError } from '../errors/permission-denied-error.ts'
import { SessionExpiredError } from '../errors/session-expired-error.ts'
import { SessionRevokedError } from '../errors/session-revoked-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import type { Haldir } from '../types.ts'
import { withHaldir } from '../with-haldir.ts'
import type { AuditTamper } from './audit-tamper.ts'
import { approvalCases } from './approval-cases.ts'
import { controlCases } from './control-cases.ts'
import { ledgerCases } from './ledger-cases.ts'
import { trustCases } from './trust-cases.ts'
import { sliceCases } from './slice-cases.ts'

/**
 * Optional abilities of a backend under test. A case that needs one the backend does not declare
 * is **skipped**, with the reason in its name, never reported as passed.
 *
 * - `tamper`: direct write access to stored entries, as an attacker with database access has
 *   (the tamper-evidence cases).
 * - `otherTenant`: a second handle on the same store acting for another tenant (isolation).
 * - `clock`: the backend reads time from `clock.now()`, which the suite moves (expiry cases run
 *   without sleeping).
 */
export type ConformanceHook = 'tamper' | 'otherTenant' | 'clock'

/** A clock the suite moves: give `clock.now` to the backend as its `now` option. */
export interface TestClock {
  now(): number
  advance(ms: number): void
}

/** A {@link TestClock} starting at the real time. */
export function testClock(start = Date.now()): TestClock {
  let current = start
  return {
    now: () => current,
    advance(ms) {
      current += ms
    },
  }
}

export interface BackendUnderTest {
  backend: HaldirBackend
  /** A second handle on the same store that acts for another tenant (hook `otherTenant`). */
  otherTenant?: HaldirBackend
  /** Direct write access to stored entries (hook `tamper`). */
  tamper?: AuditTamper
  /** The clock the backend reads (hook `clock`). */
  clock?: TestClock
  /**
   * The tenants `backend` and `otherTenant` act for, when the backend decides them itself (an API
   * key does over HTTP); otherwise the suite names its own.
   */
  tenants?: { own: string; other: string }
  /**
   * A handle for a third tenant no other case writes to, when the backend decides tenants itself;
   * otherwise the suite opens one on `backend` under a fresh name (tenant-wide ledger cases use it).
   */
  spareTenant?: HaldirBackend
}

export interface TestBackendOptions {
  /** Shown in the test names. */
  name: string
  /** The optional hooks `setup` provides; cases needing any other are skipped. @default [] */
  hooks?: readonly ConformanceHook[]
  /** Builds the backend once for the suite (start a server, connect a pool …). */
  setup: () => Promise<BackendUnderTest> | BackendUnderTest
  /** Closes what `setup` opened. */
  teardown?: () => Promise<void> | void
  /** A reason to skip the whole suite (a database that is not reachable); shown in the output. */
  skip?: string | false
  /** How many concurrent charges the concurrency cases fire. @default 1000 */
  concurrency?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The conformance suite every backend passes: money, budgets under concurrency (own and
 * ancestor limits), scopes and attenuation, liveness, vault, audit-chain integrity,
 * idempotency, validation, tenancy and the generic gate. Call it from a `*.test.ts` file:
 *
 * @example
 * import { memoryBackend } from '@haldir/core'
 * import { testBackend } from '@haldir/core/testing'
 * testBackend({ name: 'memory', setup: () => ({ backend: memoryBackend() }) })
 */
export function testBackend(options: TestBackendOptions): void {
  const title = `conformance: ${options.name} backend`
  if (options.skip) {
    describe.skip(`${title} (skipped: ${options.skip})`, () => {
      it('needs its backend', () => {})
    })
    return
  }
  const concurrency = options.concurrency ?? 1000
  const hooks = new Set(options.hooks ?? [])
  /** `it`, or `it.skip` with the missing hook named, for a case that needs `hook`. */
  const needs = (hook: ConformanceHook) => (title: string, fn: () => Promise<void>) =>
    hooks.has(hook) ? it(title, fn) : it.skip(`${title} — skipped: no '${hook}' hook declared`, fn)
  describe(title, () => {
    let subject: BackendUnderTest
    let haldir: Haldir
    let tenant = `t_${randomUUID()}`
    beforeAll(async () => {
      subject = await options.setup()
      const given: Record<ConformanceHook, unknown> = { tamper: subject.tamper, otherTenant: subject.otherTenant, clock: subject.clock }
      for (const hook of hooks) if (!given[hook]) throw new Error(`testBackend '${options.name}' declares the '${hook}' hook but setup() did not provide it`)
      tenant = subject.tenants?.own ?? tenant
      haldir = createHaldir({ backend: subject.backend, tenant })
    })
    afterAll(async () => {
      await options.teardown?.()
    })

    const session = (extra: Partial<Parameters<Haldir['createSession']>[0]> = {}) =>
      haldir.createSession({ agentId: `agent-${randomUUID().slice(0, 8)}`, scopes: ['read', 'browse'], spendLimit: 5, ttl: 3600, ...extra })

    describe('money', () => {
      it('charges 0.1 + 0.2 as exactly 0.3', async () => {
        const s = await session()
        await haldir.authorizePayment(s.id, 0.1)
        await haldir.authorizePayment(s.id, 0.2)
        const spend = await haldir.getSpend(s.id)
        expect(spend.totalUsd).toBe(0.3)
        expect(spend.remainingUsd).toBe(4.7)
        expect(spend.byTool).toEqual({ payment: 0.3 })
      })

      it('meters a session without a limit', async () => {
        const s = await session({ spendLimit: null })
        for (let index = 0; index < 10; index++) await haldir.authorizePayment(s.id, 0.1, { tool: 'llm' })
        const spend = await haldir.getSpend(s.id)
        expect(spend).toMatchObject({ totalUsd: 1, limitUsd: null, remainingUsd: null, byTool: { llm: 1 } })
      })

      it('refuses a charge that would exceed the limit whole, charging nothing of it', async () => {
        const s = await session({ spendLimit: 1 })
        await haldir.authorizePayment(s.id, 0.95)
        const refused = await haldir.authorizePayment(s.id, 0.1).catch((error: unknown) => error)
        expect(BudgetExceededError.isInstance(refused)).toBe(true)
        expect(refused).toMatchObject({ code: 'budget_exceeded', limitUsd: 1, spentUsd: 0.95, requestedUsd: 0.1 })
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0.95)
        await haldir.authorizePayment(s.id, 0.05)
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(1)
      })
    })

    describe('budgets under concurrency', () => {
      it(`lets exactly 50 of ${concurrency} concurrent $0.10 charges through a $5.00 limit`, async () => {
        const s = await session({ spendLimit: 5 })
        const results = await Promise.allSettled(Array.from({ length: concurrency }, () => haldir.authorizePayment(s.id, 0.1)))
        const ok = results.filter((result) => result.status === 'fulfilled')
        const refused = results.filter((result) => result.status === 'rejected')
        expect(ok).toHaveLength(50)
        expect(refused.every((result) => BudgetExceededError.isInstance(result.reason))).toBe(true)
        const spend = await haldir.getSpend(s.id)
        expect(spend.totalUsd).toBe(5)
        expect(spend.reservedUsd).toBe(0)
        const trail = await haldir.getAuditTrail({ sessionId: s.id, limit: 10_000 })
        expect(trail.entries.filter((entry) => entry.action === 'payment' && entry.outcome === 'ok')).toHaveLength(50)
        expect(trail.entries.filter((entry) => entry.outcome === 'denied')).toHaveLength(concurrency - 50)
        expect(await haldir.verifyAuditTrail(s.id)).toEqual({ ok: true, count: trail.count })
      })

      it(`holds a crew (parent) limit shared by 3 children under ${concurrency} concurrent charges`, async () => {
        const crew = await session({ spendLimit: 5, scopes: ['*'] })
        const children = await Promise.all(
          [0, 1, 2].map((index) => session({ parentId: crew.id, spendLimit: 100, agentId: `member-${index}-${randomUUID().slice(0, 4)}` })),
        )
        const results = await Promise.allSettled(
          Array.from({ length: concurrency }, (_, index) => haldir.authorizePayment((children[index % 3] as { id: string }).id, 0.1)),
        )
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(50)
        const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as BudgetExceededError] : []))
        expect(refusals.every((error) => BudgetExceededError.isInstance(error) && error.limitingSessionId === crew.id)).toBe(true)
        expect((await haldir.getSpend(crew.id)).totalUsd).toBe(5)
        const childTotals = await Promise.all(children.map(async (child) => (await haldir.getSpend(child.id)).totalUsd))
        expect(childTotals.reduce((sum, value) => sum + value, 0)).toBeCloseTo(5, 10)
      })

      it('counts open reservations against the limit and settles the actual cost', async () => {
        const s = await session({ spendLimit: 5 })
        const hold = await haldir.reserve(s.id, 4, { tool: 'llm' })
        expect(await haldir.getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 4, remainingUsd: 1 })
        await expect(haldir.authorizePayment(s.id, 2)).rejects.toBeInstanceOf(BudgetExceededError)
        const entry = await hold.settle(1.25)
        expect(entry).toMatchObject({ tool: 'llm', costUsd: 1.25, outcome: 'ok' })
        expect(await haldir.getSpend(s.id)).toMatchObject({ totalUsd: 1.25, reservedUsd: 0, byTool: { llm: 1.25 } })
        await haldir.authorizePayment(s.id, 2)
        const released = await haldir.reserve(s.id, 1)
        await released.release()
        expect(await haldir.getSpend(s.id)).toMatchObject({ totalUsd: 3.25, reservedUsd: 0 })
      })

      it('refuses to settle more than was reserved, and leaves the hold open', async () => {
        const s = await session()
        const hold = await haldir.reserve(s.id, 0.5)
        await expect(hold.settle(0.6)).rejects.toBeInstanceOf(ValidationError)
        expect(await haldir.getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0.5 })
        await hold.settle(0.5)
        expect(await haldir.getSpend(s.id)).toMatchObject({ totalUsd: 0.5, reservedUsd: 0 })
      })

      it('settles a hold once: a second settle returns the first entry', async () => {
        const s = await session()
        const hold = await haldir.reserve(s.id, 0.5)
        const first = await hold.settle(0.2)
        const second = await hold.settle(0.2)
        expect(second.id).toBe(first.id)
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0.2)
      })
    })

    describe('scopes and attenuation', () => {
      it('matches exact scopes, trailing wildcards and *', async () => {
        const s = await session({ scopes: ['read', 'db:*'] })
        expect(await haldir.checkPermission(s.id, 'read')).toEqual({ allowed: true })
        expect(await haldir.checkPermission(s.id, 'db:write')).toEqual({ allowed: true })
        expect(await haldir.checkPermission(s.id, 'db:admin:drop')).toEqual({ allowed: true })
        const denied = await haldir.checkPermission(s.id, 'send_email')
        expect(denied).toMatchObject({ allowed: false, code: 'permission_denied' })
        expect(denied.allowed === false && denied.reason).toContain('send_email')
        expect(await haldir.checkPermission(s.id, 'dbx')).toMatchObject({ allowed: false })
        const all = await session({ scopes: ['*'] })
        expect(await haldir.checkPermission(all.id, 'anything:at:all')).toEqual({ allowed: true })
      })

      it('audits a refused permission check, flagged', async () => {
        const s = await session({ scopes: ['read'] })
        await haldir.checkPermission(s.id, 'write')
        const trail = await haldir.getAuditTrail({ sessionId: s.id, flagged: true })
        expect(trail.entries).toHaveLength(1)
        expect(trail.entries[0]).toMatchObject({ outcome: 'denied', flagged: true, scope: 'write' })
      })

      it('refuses a payment that needs a scope the session lacks, charging nothing', async () => {
        const s = await session({ scopes: ['read'] })
        await expect(haldir.authorizePayment(s.id, 0.1, { scope: 'purchase' })).rejects.toBeInstanceOf(PermissionDeniedError)
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0)
      })

      it('lets a child only narrow its parent scopes', async () => {
        const parent = await session({ scopes: ['read', 'db:*'] })
        const child = await session({ parentId: parent.id, scopes: ['read', 'db:write', 'db:admin:*'] })
        expect(child.parentId).toBe(parent.id)
        const escalation = await session({ parentId: parent.id, scopes: ['read', 'send_email'] }).catch((error: unknown) => error)
        expect(PermissionDeniedError.isInstance(escalation)).toBe(true)
        expect(escalation).toMatchObject({ scope: 'send_email' })
        await expect(session({ parentId: parent.id, scopes: ['*'] })).rejects.toBeInstanceOf(PermissionDeniedError)
        await expect(session({ parentId: parent.id, scopes: ['db*'] })).rejects.toBeInstanceOf(PermissionDeniedError)
      })

      it('never lets a child outlive its parent', async () => {
        const parent = await session({ ttl: 60 })
        const child = await session({ parentId: parent.id, ttl: 3600 })
        expect(Date.parse(child.expiresAt)).toBeLessThanOrEqual(Date.parse(parent.expiresAt))
      })
    })

    describe('liveness', () => {
      it('refuses everything after the TTL, and audits each refusal', async () => {
        const s = await session({ ttl: 0.3 })
        await haldir.storeSecret(`ttl-${s.id}`, 'value-1234', { scopeRequired: 'read' })
        // With a clock hook time moves at once; without one the case waits for real time.
        if (subject.clock) subject.clock.advance(450)
        else await sleep(450)
        expect(await haldir.checkPermission(s.id, 'read')).toMatchObject({ allowed: false, code: 'session_expired' })
        await expect(haldir.authorizePayment(s.id, 0.1)).rejects.toBeInstanceOf(SessionExpiredError)
        await expect(haldir.reserve(s.id, 0.1)).rejects.toBeInstanceOf(SessionExpiredError)
        await expect(haldir.getSecret(`ttl-${s.id}`, { sessionId: s.id })).rejects.toBeInstanceOf(SessionExpiredError)
        const denied = await haldir.getAuditTrail({ sessionId: s.id, outcome: 'denied' })
        expect(denied.count).toBe(4)
        expect(denied.entries.every((entry) => entry.flagged && entry.reason?.includes('expired'))).toBe(true)
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0)
      })

      it('refuses everything once the session or an ancestor is revoked, and audits it', async () => {
        const crew = await session({ scopes: ['*'] })
        const member = await session({ parentId: crew.id })
        const grandchild = await session({ parentId: member.id, scopes: ['read'] })
        await haldir.storeSecret(`rev-${crew.id}`, 'value-5678')
        const { revokedSessionIds } = await haldir.revokeSession(crew.id, { reason: 'crew finished' })
        expect(new Set(revokedSessionIds)).toEqual(new Set([crew.id, member.id, grandchild.id]))
        expect((await haldir.getSession(member.id)).revokedAt).not.toBeNull()
        for (const id of [crew.id, member.id, grandchild.id]) {
          expect(await haldir.checkPermission(id, 'read')).toMatchObject({ allowed: false, code: 'session_revoked' })
          await expect(haldir.authorizePayment(id, 0.01)).rejects.toBeInstanceOf(SessionRevokedError)
          await expect(haldir.getSecret(`rev-${crew.id}`, { sessionId: id })).rejects.toBeInstanceOf(SessionRevokedError)
        }
        const trail = await haldir.getAuditTrail({ sessionId: member.id })
        expect(trail.entries.some((entry) => entry.action === 'session.revoke')).toBe(true)
        expect(trail.entries.filter((entry) => entry.outcome === 'denied')).toHaveLength(3)
        await expect(session({ parentId: crew.id })).rejects.toBeInstanceOf(SessionRevokedError)
      })

      it('refusals are part of the permission family', async () => {
        const s = await session()
        await haldir.revokeSession(s.id)
        const error = await haldir.authorizePayment(s.id, 0.01).catch((caught: unknown) => caught)
        expect(HaldirPermissionError.isInstance(error)).toBe(true)
        expect(error).toBeInstanceOf(HaldirPermissionError)
      })
    })

    describe('vault', () => {
      it('hands a secret only to sessions with its scope, audits every read, never the value', async () => {
        const name = `db_password_${randomUUID().slice(0, 8)}`
        await haldir.storeSecret(name, 'pg_super_secret_value', { scopeRequired: 'db_write' })
        const writer = await session({ scopes: ['read', 'db_write'] })
        const reader = await session({ scopes: ['read'] })
        expect(await haldir.getSecret(name, { sessionId: writer.id })).toBe('pg_super_secret_value')
        const refused = await haldir.getSecret(name, { sessionId: reader.id }).catch((error: unknown) => error)
        expect(PermissionDeniedError.isInstance(refused)).toBe(true)
        await expect(haldir.getSecret(`missing-${name}`, { sessionId: writer.id })).rejects.toBeInstanceOf(NotFoundError)
        const writerTrail = await haldir.getAuditTrail({ sessionId: writer.id })
        const readerTrail = await haldir.getAuditTrail({ sessionId: reader.id })
        expect(writerTrail.entries.filter((entry) => entry.action === 'secret.read').map((entry) => entry.outcome)).toEqual(['ok', 'error'])
        expect(readerTrail.entries.filter((entry) => entry.action === 'secret.read')).toMatchObject([{ outcome: 'denied', flagged: true, scope: 'db_write' }])
        expect(JSON.stringify([writerTrail, readerTrail])).not.toContain('pg_super_secret_value')
      })

      it('replaces a secret on a second store', async () => {
        const name = `rotating_${randomUUID().slice(0, 8)}`
        const s = await session()
        await haldir.storeSecret(name, 'first-value')
        await haldir.storeSecret(name, 'second-value')
        expect(await haldir.getSecret(name, { sessionId: s.id })).toBe('second-value')
      })

      it('lists secrets by name (never a value) and deletes one: no session opens it, a second delete finds nothing', async () => {
        const name = `deleted_${randomUUID().slice(0, 8)}`
        const kept = `kept_${randomUUID().slice(0, 8)}`
        const s = await session({ scopes: ['read', 'db_write'] })
        await haldir.storeSecret(name, 'value-to-delete-1234', { scopeRequired: 'db_write' })
        await haldir.storeSecret(kept, 'value-to-keep-5678')
        const listed = await haldir.listSecrets()
        expect(listed).toEqual(expect.arrayContaining([{ name, scopeRequired: 'db_write' }, { name: kept, scopeRequired: null }]))
        expect(listed.map((secret) => secret.name)).toEqual([...listed.map((secret) => secret.name)].sort())
        expect(JSON.stringify(listed)).not.toContain('value-to')
        await haldir.deleteSecret(name)
        await expect(haldir.getSecret(name, { sessionId: s.id })).rejects.toBeInstanceOf(NotFoundError)
        await expect(haldir.deleteSecret(name)).rejects.toBeInstanceOf(NotFoundError)
        expect((await haldir.listSecrets()).map((secret) => secret.name)).not.toContain(name)
        expect(await haldir.getSecret(kept, { sessionId: s.id })).toBe('value-to-keep-5678')
        // Stored again, it opens again.
        await haldir.storeSecret(name, 'value-stored-again-90', { scopeRequired: 'db_write' })
        expect(await haldir.getSecret(name, { sessionId: s.id })).toBe('value-stored-again-90')
      })

      it('keeps secret values and redacted keys out of audit details', async () => {
        const name = `api_key_${randomUUID().slice(0, 8)}`
        const s = await session()
        await haldir.storeSecret(name, 'sk-live-abcdef123456')
        const value = await haldir.getSecret(name, { sessionId: s.id })
        await haldir.logAction(s.id, { tool: 'http', details: { url: `https://x.test/?key=${value}`, headers: { Authorization: 'Bearer xyz' }, password: 'hunter2' } })
        const trail = JSON.stringify(await haldir.getAuditTrail({ sessionId: s.id }))
        expect(trail).not.toContain('sk-live-abcdef123456')
        expect(trail).not.toContain('hunter2')
        expect(trail).not.toContain('Bearer xyz')
        expect(trail).toContain('[REDACTED]')
      })
    })

    describe('audit trail', () => {
      it('chains every entry and verifies, by session and by agent', async () => {
        const s = await session()
        await haldir.authorizePayment(s.id, 0.1, { description: 'search' })
        await haldir.logAction(s.id, { tool: 'search', action: 'execute', costUsd: 0.02, details: { q: 'haldir' } })
        await haldir.checkPermission(s.id, 'nope')
        const trail = await haldir.getAuditTrail({ sessionId: s.id })
        expect(trail.count).toBe(4)
        expect(trail.entries.map((entry) => entry.seq)).toEqual([1, 2, 3, 4])
        expect(trail.entries[1]?.prevHash).toBe(trail.entries[0]?.hash)
        expect(trail.entries[2]).toMatchObject({ tool: 'search', costUsd: 0.02, details: { q: 'haldir' }, outcome: 'ok' })
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0.1)
        expect(await haldir.verifyAuditTrail(s.id)).toEqual({ ok: true, count: 4 })
        const byAgent = await haldir.getAuditTrail({ agentId: s.agentId })
        expect(byAgent.entries.map((entry) => entry.id)).toEqual(trail.entries.map((entry) => entry.id))
      })

      it('pages through a trail', async () => {
        const s = await session()
        for (let index = 0; index < 7; index++) await haldir.logAction(s.id, { tool: 't', details: { index } })
        const first = await haldir.getAuditTrail({ sessionId: s.id, limit: 5 })
        expect(first).toMatchObject({ count: 8, nextOffset: 5 })
        expect(first.entries).toHaveLength(5)
        const rest = await haldir.getAuditTrail({ sessionId: s.id, limit: 5, offset: 5 })
        expect(rest.entries.map((entry) => entry.seq)).toEqual([6, 7, 8])
        expect(rest.nextOffset).toBeNull()
      })

      const tampered = async () => {
        const s = await session()
        for (let index = 0; index < 4; index++) await haldir.authorizePayment(s.id, 0.01, { details: { index } })
        expect(await haldir.verifyAuditTrail(s.id)).toEqual({ ok: true, count: 5 })
        return s.id
      }

      const withTamper = needs('tamper')
      const tamper = () => subject.tamper as AuditTamper

      withTamper('detects an edited entry', async () => {
        const id = await tampered()
        await tamper().edit(id, 3, { costUsd: 0 })
        expect(await haldir.verifyAuditTrail(id)).toMatchObject({ ok: false, brokenAt: 3, reason: 'hash_mismatch' })
      })

      withTamper('detects a deleted entry', async () => {
        const id = await tampered()
        await tamper().remove(id, 2)
        expect(await haldir.verifyAuditTrail(id)).toMatchObject({ ok: false, brokenAt: 2 })
      })

      withTamper('detects a deleted last entry', async () => {
        const id = await tampered()
        await tamper().remove(id, 5)
        expect(await haldir.verifyAuditTrail(id)).toMatchObject({ ok: false, brokenAt: 5, reason: 'truncated' })
      })

      withTamper('detects reordered entries', async () => {
        const id = await tampered()
        await tamper().swap(id, 2, 4)
        expect(await haldir.verifyAuditTrail(id)).toMatchObject({ ok: false, brokenAt: 2 })
      })

      withTamper('detects an entry whose hash was recomputed without the key', async () => {
        const id = await tampered()
        await tamper().edit(id, 3, { costUsd: 0, hash: 'f'.repeat(64) })
        expect(await haldir.verifyAuditTrail(id)).toMatchObject({ ok: false, brokenAt: 3 })
      })
    })

    describe('idempotency', () => {
      it('charges a retried payment once and returns the first receipt', async () => {
        const s = await session()
        const first = await haldir.authorizePayment(s.id, 0.25, { idempotencyKey: 'order-1' })
        const retries = await Promise.all([1, 2, 3].map(() => haldir.authorizePayment(s.id, 0.25, { idempotencyKey: 'order-1' })))
        expect(retries.every((receipt) => receipt.entry.id === first.entry.id)).toBe(true)
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0.25)
        await haldir.authorizePayment(s.id, 0.25, { idempotencyKey: 'order-2' })
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0.5)
      })

      it('reserves a retried gate call once', async () => {
        const s = await session()
        const first = await haldir.gate({ sessionId: s.id, tool: 'search', scope: 'browse', maxCostUsd: 1, idempotencyKey: 'call-1' })
        const retry = await haldir.gate({ sessionId: s.id, tool: 'search', scope: 'browse', maxCostUsd: 1, idempotencyKey: 'call-1' })
        expect(first.allowed && retry.allowed && retry.hold.id === first.hold.id).toBe(true)
        expect((await haldir.getSpend(s.id)).reservedUsd).toBe(1)
      })
    })

    describe('validation', () => {
      it.each([
        ['negative', -0.1],
        ['NaN', Number.NaN],
        ['Infinity', Number.POSITIVE_INFINITY],
        ['more than 6 decimals', 0.1234567],
        ['a string', '0.10'],
        ['null', null],
      ])('refuses a %s amount with ValidationError and charges nothing', async (_label, amount) => {
        const s = await session()
        await expect(haldir.authorizePayment(s.id, amount as number)).rejects.toBeInstanceOf(ValidationError)
        await expect(haldir.reserve(s.id, amount as number)).rejects.toBeInstanceOf(ValidationError)
        if (amount !== null) await expect(session({ spendLimit: amount as number })).rejects.toBeInstanceOf(ValidationError)
        expect(await haldir.getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
      })

      it('accepts exactly 6 decimals', async () => {
        const s = await session()
        await haldir.authorizePayment(s.id, 0.000001)
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0.000001)
      })

      it('refuses empty and malformed scopes', async () => {
        const s = await session()
        await expect(haldir.checkPermission(s.id, '')).rejects.toBeInstanceOf(ValidationError)
        await expect(haldir.checkPermission(s.id, 'a*b')).rejects.toBeInstanceOf(ValidationError)
        await expect(session({ scopes: [''] })).rejects.toBeInstanceOf(ValidationError)
        await expect(session({ scopes: ['has space'] })).rejects.toBeInstanceOf(ValidationError)
      })

      it('refuses wrong types with ValidationError', async () => {
        const bad = [
          { agentId: 42 },
          { agentId: '' },
          { agentId: 'a', scopes: 'read' },
          { agentId: 'a', ttl: -1 },
          { agentId: 'a', ttl: Number.NaN },
          { agentId: 'a', metadata: 'x' },
        ]
        for (const input of bad) {
          await expect(haldir.createSession(input as never)).rejects.toBeInstanceOf(ValidationError)
        }
        await expect(haldir.createSession(undefined as never)).rejects.toBeInstanceOf(ValidationError)
        await expect(haldir.getSpend(42 as never)).rejects.toBeInstanceOf(ValidationError)
        await expect(haldir.getAuditTrail({})).rejects.toBeInstanceOf(ValidationError)
        await expect(haldir.logAction('x', { tool: '' })).rejects.toBeInstanceOf(ValidationError)
        await expect(haldir.getSecret('x', undefined as never)).rejects.toBeInstanceOf(ValidationError)
      })

      it('refuses unknown sessions with NotFoundError', async () => {
        await expect(haldir.getSession('ses_missing')).rejects.toBeInstanceOf(NotFoundError)
        await expect(haldir.authorizePayment('ses_missing', 0.1)).rejects.toBeInstanceOf(NotFoundError)
        await expect(haldir.checkPermission('ses_missing', 'read')).rejects.toBeInstanceOf(NotFoundError)
        await expect(haldir.getSpend('ses_missing')).rejects.toBeInstanceOf(NotFoundError)
        await expect(haldir.verifyAuditTrail('ses_missing')).rejects.toBeInstanceOf(NotFoundError)
        await expect(haldir.revokeSession('ses_missing')).rejects.toBeInstanceOf(NotFoundError)
        await expect(session({ parentId: 'ses_missing' })).rejects.toBeInstanceOf(NotFoundError)
      })
    })

    describe('tenancy', () => {
      needs('otherTenant')("cannot see or touch another tenant's sessions, secrets or audit", async () => {
        const other = createHaldir({ backend: subject.otherTenant as HaldirBackend, tenant: `o_${randomUUID()}` })
        const mine = await session()
        const name = `tenant_secret_${randomUUID().slice(0, 8)}`
        await haldir.storeSecret(name, 'only-mine-123')
        const theirs = await other.createSession({ agentId: mine.agentId, scopes: ['*'] })
        await expect(other.getSession(mine.id)).rejects.toBeInstanceOf(NotFoundError)
        await expect(other.authorizePayment(mine.id, 0.1)).rejects.toBeInstanceOf(NotFoundError)
        await expect(other.revokeSession(mine.id)).rejects.toBeInstanceOf(NotFoundError)
        await expect(other.getAuditTrail({ sessionId: mine.id })).rejects.toBeInstanceOf(NotFoundError)
        await expect(other.getSecret(name, { sessionId: theirs.id })).rejects.toBeInstanceOf(NotFoundError)
        await expect(other.createSession({ agentId: 'x', parentId: mine.id })).rejects.toBeInstanceOf(NotFoundError)
        const byAgent = await other.getAuditTrail({ agentId: mine.agentId })
        expect(byAgent.entries.every((entry) => entry.sessionId === theirs.id)).toBe(true)
        expect((await haldir.getSession(mine.id)).revokedAt).toBeNull()
      })
    })

    describe('withHaldir gate', () => {
      it('runs an allowed call, charges its cost and audits it', async () => {
        const s = await session()
        const queries: string[] = []
        const search = withHaldir(
          async (query: string) => {
            queries.push(query)
            return `results for ${query}`
          },
          { haldir, sessionId: s.id, scope: 'browse', auditName: 'search', cost: 0.01 },
        )
        expect(await search('haldir')).toBe('results for haldir')
        const trail = await haldir.getAuditTrail({ sessionId: s.id })
        expect(trail.entries.at(-1)).toMatchObject({ tool: 'search', scope: 'browse', outcome: 'ok', costUsd: 0.01, details: { args: ['haldir'] } })
        expect(await haldir.getSpend(s.id)).toMatchObject({ totalUsd: 0.01, reservedUsd: 0, byTool: { search: 0.01 } })
        expect(queries).toEqual(['haldir'])
      })

      it('does not run a denied call, audits it flagged, and throws or reports it', async () => {
        const s = await session({ scopes: ['read'] })
        let runs = 0
        const send = async (to: string) => {
          runs++
          return `sent to ${to}`
        }
        const throwing = withHaldir(send, { haldir, sessionId: s.id, scope: 'send_email', auditName: 'email' })
        await expect(throwing('a@b.c')).rejects.toBeInstanceOf(PermissionDeniedError)
        const messaging = withHaldir(send, { haldir, sessionId: s.id, scope: 'send_email', auditName: 'email', onDenied: 'message' })
        expect(await messaging('a@b.c')).toMatch(/^BLOCKED: scope 'send_email' not granted/)
        expect(runs).toBe(0)
        const flagged = await haldir.getAuditTrail({ sessionId: s.id, flagged: true })
        expect(flagged.entries).toHaveLength(2)
        expect(flagged.entries.every((entry) => entry.outcome === 'denied' && entry.tool === 'email')).toBe(true)
      })

      it('stops paid calls when the budget runs out', async () => {
        const s = await session({ spendLimit: 0.05 })
        const paid = withHaldir(async () => 'ok', { haldir, sessionId: s.id, auditName: 'paid', cost: 0.02, onDenied: 'message' })
        const results = [await paid(), await paid(), await paid()]
        expect(results.slice(0, 2)).toEqual(['ok', 'ok'])
        expect(results[2]).toMatch(/^BLOCKED: budget exceeded/)
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0.04)
      })

      it('releases the hold of a throwing call and audits the error', async () => {
        const s = await session()
        const failing = withHaldir(
          async () => {
            throw new Error('upstream 500')
          },
          { haldir, sessionId: s.id, auditName: 'flaky', cost: 1 },
        )
        await expect(failing()).rejects.toThrow('upstream 500')
        expect(await haldir.getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
        const last = (await haldir.getAuditTrail({ sessionId: s.id })).entries.at(-1)
        expect(last).toMatchObject({ tool: 'flaky', outcome: 'error', flagged: true, reason: 'upstream 500', costUsd: 0 })
      })

      it('reserves maxCost and settles a cost computed from the result', async () => {
        const s = await session({ spendLimit: 1 })
        const llm = withHaldir(async (prompt: string) => ({ text: prompt.toUpperCase(), tokens: prompt.length * 1000 }), {
          haldir,
          sessionId: s.id,
          auditName: 'llm',
          maxCost: 0.5,
          cost: (_args, result) => result.tokens * 0.000001,
        })
        const result = await llm('hello')
        expect(result.tokens).toBe(5000)
        expect(await haldir.getSpend(s.id)).toMatchObject({ totalUsd: 0.005, reservedUsd: 0 })
        const over = withHaldir(async () => 'x', { haldir, sessionId: s.id, auditName: 'llm', maxCost: 0.1, cost: () => 0.9 })
        await over()
        const last = (await haldir.getAuditTrail({ sessionId: s.id })).entries.at(-1)
        expect(last).toMatchObject({ costUsd: 0.1, flagged: true })
        expect((await haldir.getSpend(s.id)).totalUsd).toBe(0.105)
      })

      it('validates its options when created', () => {
        expect(() => withHaldir(async () => 1, { haldir, sessionId: 's', auditName: 't', cost: -1 })).toThrow(ValidationError)
        expect(() => withHaldir(async () => 1, { haldir, sessionId: 's', auditName: 't', cost: () => 1 })).toThrow(ValidationError)
        expect(() => withHaldir(async () => 1, { haldir, sessionId: 's', auditName: 't', scope: '' })).toThrow(ValidationError)
        expect(() => withHaldir(async () => 1, { haldir: {} as Haldir, sessionId: 's', tool: 't' })).toThrow(ValidationError)
      })
    })

    trustCases({ haldir: () => haldir, subject: () => subject, tenant: () => tenant, session, needs })
    // Tenant-wide checks need a tenant the tamper cases never touched.
    const clean = () => (subject.spareTenant ? createHaldir({ backend: subject.spareTenant }) : createHaldir({ backend: subject.backend, tenant: `clean_${randomUUID()}` }))
    ledgerCases({ haldir: () => haldir, subject: () => subject, tenant: () => tenant, session, needs, cleanTenant: clean })
    approvalCases({ haldir: () => haldir, subject: () => subject, tenant: () => tenant, session, needs, cleanTenant: clean })
    controlCases({ haldir: () => haldir, subject: () => subject, session, needs, concurrency })
    sliceCases({ haldir: () => haldir, session, concurrency })
  })
}
