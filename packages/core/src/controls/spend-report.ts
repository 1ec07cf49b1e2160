import type { SpendRecord } from '../backend/haldir-backend.ts'
import type { StoredSpend } from '../engine/state-store.ts'
import { rateCount, windowTotals } from './session-usage.ts'

/** A session's money as `getSpend` reports it: the lifetime counters, and every window, rate limit and call cap as they stand at `now`. */
export function spendReport(stored: StoredSpend, now: number): SpendRecord {
  const { controls, usage } = stored
  return {
    spentMicros: stored.spentMicros,
    reservedMicros: stored.reservedMicros,
    limitMicros: stored.limitMicros,
    byTool: stored.byTool,
    windows: (controls?.windows ?? []).map((window) => {
      const totals = windowTotals(window, usage?.windows[window.id], now)
      return {
        id: window.id,
        kind: window.kind,
        period: window.kind === 'calendar' ? window.period : null,
        timeZone: window.kind === 'calendar' ? window.timeZone : null,
        durationMs: window.kind === 'rolling' ? window.durationMs : null,
        limitMicros: window.limitMicros,
        spentMicros: totals.spentMicros,
        reservedMicros: totals.reservedMicros,
        resetsAt: totals.resetsAt,
      }
    }),
    rateLimits: (controls?.rateLimits ?? []).map((rate) => {
      const count = rateCount(rate, usage?.rates[rate.id], now)
      return { id: rate.id, calls: rate.calls, perMs: rate.perMs, tool: rate.tool, scope: rate.scope, used: count.used, resetsAt: count.resetsAt }
    }),
    callCaps: (controls?.callCaps ?? []).map((cap) => ({ id: cap.id, tool: cap.tool, max: cap.max, used: usage?.caps[cap.id] ?? 0 })),
  }
}
