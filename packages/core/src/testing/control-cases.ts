import { describe, expect, it } from 'vitest'
import { BudgetExceededError } from '../errors/budget-exceeded-error.ts'
import { CallCapError } from '../errors/call-cap-error.ts'
import { OutsideHoursError } from '../errors/outside-hours-error.ts'
import { RateLimitedError } from '../errors/rate-limited-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import type { CreateSessionOptions, Haldir, Session } from '../types.ts'
import { listenToEvents } from './listen-to-events.ts'
import type { BackendUnderTest, ConformanceHook } from './test-backend.ts'

export interface ControlContext {
  haldir: () => Haldir
  subject: () => BackendUnderTest
  session: (extra?: Partial<CreateSessionOptions>) => Promise<Session>
  needs: (hook: ConformanceHook) => (title: string, fn: () => Promise<void>) => void
  concurrency: number
}

const errorOf = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error)

/** The next local midnight in `timeZone` after `at`, computed with Intl alone (not the code under test). */
function nextMidnight(timeZone: string, at: number): number {
  const parts = (instant: number) => {
    const fields = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
        .formatToParts(instant)
        .map((part) => [part.type, Number(part.value)]),
    ) as Record<string, number>
    return fields
  }
  // Walk forward a minute at a time from the next whole minute until the local clock reads 00:00.
  let candidate = at - (at % 60_000) + 60_000
  for (let steps = 0; steps < 26 * 60; steps++, candidate += 60_000) {
    const local = parts(candidate)
    if (local.hour === 0 && local.minute === 0) return candidate
  }
  throw new Error('no midnight within 26 hours')
}

/**
 * Budgets that reset, rolling budgets, rate limits, call caps, active hours and alerts (issue
 * "Budgets that reset, rate limits, call caps, alerts"): atomic on every backend, a child's and
 * its ancestors' all checked together, refusals typed and audited, alerts once each and in order.
 */
export function controlCases(context: ControlContext): void {
  const { session, needs, concurrency } = context
  const haldir = () => context.haldir()
  const clock = () => {
    const given = context.subject().clock
    if (!given) throw new Error('the clock hook is needed')
    return given
  }

  describe('controls: budgets that reset, rate limits, call caps, alerts', () => {
    needs('clock')('a $1/day window refuses at $1 and allows again after midnight in its time zone', async () => {
      const s = await session({ spendLimit: 100, ttl: 3 * 24 * 3600, windows: [{ period: 'day', limit: 1, timeZone: 'Pacific/Auckland' }] })
      for (let index = 0; index < 4; index++) await haldir().authorizePayment(s.id, 0.25)
      const refused = await errorOf(haldir().authorizePayment(s.id, 0.01))
      if (!BudgetExceededError.isInstance(refused)) throw new Error(`expected a window refusal, got ${String(refused)}`)
      const midnight = nextMidnight('Pacific/Auckland', clock().now())
      expect(refused).toMatchObject({ window: 'window:0', limitUsd: 1, spentUsd: 1, resetsAt: new Date(midnight).toISOString() })
      expect(refused.retryAfterSeconds).toBe(Math.ceil((midnight - clock().now()) / 1000))
      const spend = await haldir().getSpend(s.id)
      expect(spend.windows).toEqual([
        { id: 'window:0', period: 'day', timeZone: 'Pacific/Auckland', limitUsd: 1, spentUsd: 1, reservedUsd: 0, remainingUsd: 0, resetsAt: new Date(midnight).toISOString() },
      ])
      clock().advance(midnight - clock().now() - 1000)
      expect(BudgetExceededError.isInstance(await errorOf(haldir().authorizePayment(s.id, 0.01)))).toBe(true)
      clock().advance(1000)
      await haldir().authorizePayment(s.id, 0.6)
      expect((await haldir().getSpend(s.id)).windows[0]).toMatchObject({ spentUsd: 0.6, remainingUsd: 0.4 })
      expect((await haldir().getSpend(s.id)).totalUsd).toBe(1.6)
      expect(await haldir().verifyAuditTrail(s.id)).toMatchObject({ ok: true })
    })

    needs('clock')('a rolling window counts the last N seconds: money leaves it, never early', async () => {
      const s = await session({ spendLimit: 100, windows: [{ rolling: 60, limit: 1 }] })
      // The first charge at the last millisecond of a second: the slice it counts in started 999 ms before it.
      clock().advance(999 - (clock().now() % 1000))
      await haldir().authorizePayment(s.id, 0.7)
      clock().advance(30_000)
      await haldir().authorizePayment(s.id, 0.3)
      expect(BudgetExceededError.isInstance(await errorOf(haldir().authorizePayment(s.id, 0.01)))).toBe(true)
      // 59.5 s after the first charge it still counts (it would have left early had its slice been dropped at slice start + 60 s).
      clock().advance(29_500)
      expect(BudgetExceededError.isInstance(await errorOf(haldir().authorizePayment(s.id, 0.01)))).toBe(true)
      // Past its minute (and its one-second slice), the $0.70 has left; the $0.30 has not.
      clock().advance(3_000)
      await haldir().authorizePayment(s.id, 0.7)
      expect(BudgetExceededError.isInstance(await errorOf(haldir().authorizePayment(s.id, 0.01)))).toBe(true)
      expect((await haldir().getSpend(s.id)).windows[0]).toMatchObject({ rolling: 60, spentUsd: 1, limitUsd: 1 })
    })

    it('a reservation counts in its window until it settles, and a window never lets a chain overspend under concurrency', async () => {
      const crew = await session({ scopes: ['*'], spendLimit: 100, windows: [{ period: 'day', limit: 1 }] })
      const members = await Promise.all([0, 1, 2].map(() => session({ parentId: crew.id, spendLimit: 100 })))
      const hold = await haldir().reserve((members[0] as Session).id, 0.4)
      expect((await haldir().getSpend(crew.id)).windows[0]).toMatchObject({ reservedUsd: 0.4, remainingUsd: 0.6 })
      const results = await Promise.allSettled(Array.from({ length: concurrency }, (_, index) => haldir().authorizePayment((members[index % 3] as Session).id, 0.01)))
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(60)
      expect(results.every((result) => result.status === 'fulfilled' || (BudgetExceededError.isInstance(result.reason) && result.reason.limitingSessionId === crew.id))).toBe(true)
      await hold.settle(0.25)
      expect((await haldir().getSpend(crew.id)).windows[0]).toMatchObject({ spentUsd: 0.85, reservedUsd: 0, remainingUsd: 0.15 })
    })

    it(`exactly 30 of ${concurrency} concurrent calls pass a 30-per-minute rate limit; the rest are refused with retryAfter, audited`, async () => {
      const s = await session({ spendLimit: 100, rateLimits: [{ calls: 30, per: 60 }] })
      const results = await Promise.allSettled(Array.from({ length: concurrency }, () => haldir().authorizePayment(s.id, 0.001, { tool: 'search' })))
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(30)
      const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []))
      expect(refusals.every((error) => RateLimitedError.isInstance(error) && error.retryAfterSeconds > 0 && error.retryAfterSeconds <= 61 && error.limit === 'rate:0')).toBe(true)
      const trail = await haldir().getAuditTrail({ sessionId: s.id, outcome: 'denied', limit: 10_000 })
      expect(trail.count).toBe(concurrency - 30)
      expect(trail.entries[0]?.reason).toMatch(/^rate limit: 30 calls per 60s; retry in \d+s$/)
      expect((await haldir().getSpend(s.id)).rateLimits).toEqual([{ id: 'rate:0', calls: 30, per: 60, tool: null, scope: null, used: 30, resetsAt: expect.any(String) }])
    })

    needs('clock')('a rate limit of one tool or scope counts only those calls, and lets calls through again as they age out', async () => {
      const s = await session({ scopes: ['*'], spendLimit: 100, rateLimits: [{ calls: 2, per: 10, tool: 'search' }, { calls: 1, per: 60, scope: 'mail:*' }] })
      await haldir().authorizePayment(s.id, 0.001, { tool: 'search' })
      await haldir().authorizePayment(s.id, 0.001, { tool: 'search' })
      expect(RateLimitedError.isInstance(await errorOf(haldir().authorizePayment(s.id, 0.001, { tool: 'search' })))).toBe(true)
      await haldir().authorizePayment(s.id, 0.001, { tool: 'fetch' })
      await haldir().authorizePayment(s.id, 0.001, { tool: 'send', scope: 'mail:send' })
      expect(RateLimitedError.isInstance(await errorOf(haldir().authorizePayment(s.id, 0.001, { tool: 'reply', scope: 'mail:reply' })))).toBe(true)
      clock().advance(12_000)
      await haldir().authorizePayment(s.id, 0.001, { tool: 'search' })
    })

    it('a call cap allows a tool N calls per session (a child counts against its parent), others are untouched', async () => {
      const run = await session({ scopes: ['*'], spendLimit: 100, callCaps: [{ tool: 'send_email', max: 3 }] })
      const child = await session({ parentId: run.id })
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => haldir().gate({ sessionId: index % 2 ? run.id : child.id, tool: 'send_email' })))
      const decisions = results.map((result) => (result.status === 'fulfilled' ? result.value : null))
      expect(decisions.filter((decision) => decision?.allowed)).toHaveLength(3)
      const refusals = decisions.filter((decision) => decision && !decision.allowed)
      expect(refusals.every((decision) => decision && !decision.allowed && CallCapError.isInstance(decision.error) && decision.error.max === 3)).toBe(true)
      expect((await haldir().gate({ sessionId: child.id, tool: 'search' })).allowed).toBe(true)
      expect((await haldir().getSpend(run.id)).callCaps).toEqual([{ id: 'cap:0', tool: 'send_email', max: 3, used: 3 }])
    })

    needs('clock')('active hours refuse calls outside them (with the wait until they begin) and allow them inside', async () => {
      const local = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Tokyo', hourCycle: 'h23', hour: 'numeric', minute: 'numeric' }).formatToParts(clock().now())
      const hour = Number(local.find((part) => part.type === 'hour')?.value)
      const pad = (value: number) => String(value).padStart(2, '0')
      // Open from two hours from now, for one hour.
      const start = `${pad((hour + 2) % 24)}:00`
      const end = `${pad((hour + 3) % 24)}:00`
      const s = await session({ spendLimit: 10, ttl: 2 * 24 * 3600, activeHours: { start, end, timeZone: 'Asia/Tokyo' } })
      const refused = await errorOf(haldir().authorizePayment(s.id, 0.01))
      if (!OutsideHoursError.isInstance(refused)) throw new Error(`expected OutsideHoursError, got ${String(refused)}`)
      expect(refused.retryAfterSeconds).toBeGreaterThan(3600)
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(7200)
      clock().advance(refused.retryAfterSeconds * 1000)
      await haldir().authorizePayment(s.id, 0.01)
    })

    it('alerts fire once each, in order, under concurrency; exhaustion once, though a hundred calls are refused', async (ctx) => {
      if (!context.subject().backend.subscribe) {
        ctx.skip()
        return
      }
      const { heard, stop } = await listenToEvents(haldir(), await session())
      try {
        const s = await session({ spendLimit: 1, alerts: [0.8, 0.5, 1], windows: [{ period: 'month', limit: 0.5 }] })
        const results = await Promise.allSettled(Array.from({ length: 150 }, () => haldir().authorizePayment(s.id, 0.01)))
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(50)
        const mine = () => heard.filter((event) => event.sessionId === s.id && event.type !== 'call.denied')
        for (let attempt = 0; attempt < 200 && mine().length < 5; attempt++) await new Promise((resolve) => setTimeout(resolve, 10))
        await new Promise((resolve) => setTimeout(resolve, 50))
        // Per limit in ascending order; the charge reaching $0.50 crosses the lifetime limit's 50 % and the window's 100 %.
        expect(mine().map((event) => [event.type, event.data.limit, event.data.threshold ?? null])).toEqual([
          ['threshold.crossed', 'window:0', 0.5],
          ['threshold.crossed', 'window:0', 0.8],
          ['threshold.crossed', 'limit', 0.5],
          ['threshold.crossed', 'window:0', 1],
          ['budget.exhausted', 'window:0', null],
        ])
        expect(mine()[2]?.data).toMatchObject({ spentUsd: 0.5, limitUsd: 1 })
        expect(mine()[1]?.data).toMatchObject({ spentUsd: 0.4, limitUsd: 0.5, window: 'month (UTC)' })
      } finally {
        stop()
      }
    })

    it('refuses malformed controls before anything is written', async () => {
      const bad = [
        { windows: [{ period: 'fortnight', limit: 1 }] },
        { windows: [{ period: 'day', limit: 1, timeZone: 'Mars/Olympus' }] },
        { windows: [{ period: 'day', limit: -1 }] },
        { windows: [{ rolling: 0, limit: 1 }] },
        { windows: [{ period: 'day', rolling: 60, limit: 1 }] },
        { rateLimits: [{ calls: 0, per: 60 }] },
        { rateLimits: [{ calls: 10, per: 60, tool: '' }] },
        { rateLimits: [{ calls: 10, perr: 60 }] },
        { callCaps: [{ tool: 'x', max: 1.5 }] },
        { activeHours: { start: '25:00', end: '10:00' } },
        { activeHours: { start: '09:00', end: '09:00' } },
        { alerts: [0, 0.5] },
        { alerts: [0.5, 0.5] },
      ]
      for (const extra of bad) expect(ValidationError.isInstance(await errorOf(session(extra as never))), JSON.stringify(extra)).toBe(true)
    })
  })
}
