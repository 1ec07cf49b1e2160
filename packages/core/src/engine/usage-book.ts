import type { SessionControls, WindowRule } from '../backend/haldir-backend.ts'
import { describeWindow, rateLimitCounts } from '../controls/check-controls.ts'
import { addCall, addMoney, emptyUsage, type SessionUsage, windowTotals } from '../controls/session-usage.ts'
import { microsToUsd } from '../money/usd-to-micros.ts'
import type { HaldirEventType } from '../events/haldir-event.ts'
import type { SessionState } from './state-store.ts'

interface Entry {
  session: SessionState
  controls: SessionControls
  /** The session's lifetime spend after this operation's moves so far. */
  spent: number
  usage: SessionUsage
}

/** What the book needs of the operation it belongs to. */
export interface BookOwner {
  readonly now: number
  emit(type: HaldirEventType, session: SessionState | null, data: Record<string, unknown>): void
}

/**
 * What one operation counts for the controls of the sessions it touches: money in their budget
 * windows (in the slot the money was made in), calls in their rate limits and call caps, and the
 * alerts that crossing a threshold raises, once per window. Works on copies of the loaded usage;
 * the store replaces each touched session's usage with the book's copy, atomically with the rest.
 */
export class UsageBook {
  readonly #owner: BookOwner
  readonly #entries = new Map<string, Entry>()

  constructor(owner: BookOwner) {
    this.#owner = owner
  }

  #entry(session: SessionState, controls: SessionControls): Entry {
    const id = session.record.id
    let entry = this.#entries.get(id)
    if (!entry) {
      const loaded = session.usage
      // A shallow copy: every change below replaces a member's value, never mutates it.
      const usage = loaded ? { windows: { ...loaded.windows }, rates: { ...loaded.rates }, caps: { ...loaded.caps }, fired: loaded.fired.filter(this.#stillRelevant) } : emptyUsage()
      entry = { session, controls, spent: session.spentMicros, usage }
      this.#entries.set(id, entry)
    }
    return entry
  }

  /** A rate limit's alert is kept until the window it was raised for has passed; others until their own rules drop them. */
  readonly #stillRelevant = (key: string): boolean => {
    if (!key.endsWith('#limited')) return true
    const until = Number(key.slice(key.indexOf('@') + 1, key.lastIndexOf('#')))
    return until === 0 || until > this.#owner.now
  }

  /** Money of `session` moved by `spent` and `reserved`, made at `at` (a hold's own time when it closes). */
  money(session: SessionState, spent: number, reserved: number, at: number): void {
    const controls = session.record.controls
    if (controls === null || (controls.windows.length === 0 && controls.thresholds.length === 0)) return
    const entry = this.#entry(session, controls)
    const { now } = this.#owner
    const before = entry.spent
    entry.spent += spent
    const limit = session.record.limitMicros
    if (limit !== null && spent > 0) this.#alerts(entry, 'limit', null, 0, before, entry.spent, limit)
    for (const window of controls.windows) {
      const spentBefore = spent > 0 ? windowTotals(window, entry.usage.windows[window.id], now).spentMicros : 0
      entry.usage.windows[window.id] = addMoney(window, entry.usage.windows[window.id], at, now, spent, reserved)
      if (spent > 0) {
        const totals = windowTotals(window, entry.usage.windows[window.id], now)
        this.#alerts(entry, window.id, window, totals.periodStart, spentBefore, totals.spentMicros, window.limitMicros)
      }
    }
  }

  /** One more call of `tool` (needing `scope`) for the rate limits and call caps of `session`. */
  call(session: SessionState, tool: string, scope: string | null): void {
    const controls = session.record.controls
    if (controls === null || (controls.rateLimits.length === 0 && controls.callCaps.length === 0)) return
    const entry = this.#entry(session, controls)
    for (const rate of controls.rateLimits) {
      if (rateLimitCounts(rate, tool, scope)) entry.usage.rates[rate.id] = addCall(rate, entry.usage.rates[rate.id], this.#owner.now)
    }
    for (const cap of controls.callCaps) if (cap.tool === tool) entry.usage.caps[cap.id] = (entry.usage.caps[cap.id] ?? 0) + 1
  }

  /**
   * A call refused by a limit of `session`: a budget refusal raises `budget.exhausted`, a rate
   * limit or call cap `rate.limited`, once per window (a thousand refusals of one full window are
   * one alert).
   */
  refused(session: SessionState, code: string, facts: Record<string, unknown>): void {
    const controls = session.record.controls
    const limit = typeof facts.limit === 'string' ? facts.limit : 'limit'
    if (code === 'budget_exceeded') {
      const entry = this.#entry(session, controls ?? NO_CONTROLS)
      this.#once(entry, `${limit}@${typeof facts.periodStart === 'number' ? facts.periodStart : 0}#exhausted`, 'budget.exhausted', {
        limit,
        ...(typeof facts.window === 'string' ? { window: facts.window } : {}),
        spentUsd: facts.spentUsd,
        reservedUsd: facts.reservedUsd,
        limitUsd: facts.limitUsd,
        refusedUsd: facts.requestedUsd,
        ...(typeof facts.resetsAt === 'string' ? { resetsAt: facts.resetsAt } : {}),
      })
    } else if (code === 'rate_limited' || code === 'call_cap_reached') {
      const entry = this.#entry(session, controls ?? NO_CONTROLS)
      const until = typeof facts.resetsAt === 'number' ? facts.resetsAt : 0
      this.#once(entry, `${limit}@${until}#limited`, 'rate.limited', {
        limit,
        kind: code === 'rate_limited' ? 'rate_limit' : 'call_cap',
        tool: facts.tool ?? null,
        ...(code === 'rate_limited' ? { retryAfterSeconds: facts.retryAfterSeconds } : { max: facts.max }),
      })
    }
  }

  /** Each touched session's usage, whole, for the store. */
  changes(): { sessionId: string; usage: SessionUsage }[] {
    const out: { sessionId: string; usage: SessionUsage }[] = []
    for (const [sessionId, entry] of this.#entries) out.push({ sessionId, usage: entry.usage })
    return out
  }

  /** Thresholds crossed by spend going from `before` to `after` in one limit (or window period), and exhaustion. */
  #alerts(entry: Entry, id: string, window: WindowRule | null, periodStart: number, before: number, after: number, limit: number): void {
    const { thresholds } = entry.controls
    const prefix = `${id}@`
    // Alerts of periods gone by are forgotten; in a rolling window a threshold is raised again
    // once spend has fallen below it.
    entry.usage.fired = entry.usage.fired.filter((key) => {
      if (!key.startsWith(prefix)) return true
      const [at, what] = key.slice(prefix.length).split('#') as [string, string]
      if (window?.kind === 'rolling') return what === 'exhausted' ? after >= limit : after >= Number(what) * limit
      return Number(at) === periodStart
    })
    const data = (extra: Record<string, unknown>) => ({
      limit: id,
      ...(window ? { window: describeWindow(window) } : {}),
      ...extra,
      spentUsd: microsToUsd(after),
      limitUsd: microsToUsd(limit),
      ...(window?.kind === 'calendar' ? { periodStart: new Date(periodStart).toISOString() } : {}),
    })
    for (const threshold of thresholds) {
      const mark = threshold * limit
      if (before < mark && after >= mark) this.#once(entry, `${prefix}${periodStart}#${threshold}`, 'threshold.crossed', data({ threshold }))
    }
    if (before < limit && after >= limit) this.#once(entry, `${prefix}${periodStart}#exhausted`, 'budget.exhausted', data({}))
  }

  #once(entry: Entry, key: string, type: HaldirEventType, data: Record<string, unknown>): void {
    if (entry.usage.fired.includes(key)) return
    entry.usage.fired.push(key)
    this.#owner.emit(type, entry.session, data)
  }
}

const NO_CONTROLS: SessionControls = { windows: [], rateLimits: [], callCaps: [], activeHours: null, thresholds: [] }
