import type { SessionControls, SessionControlsInput, SpendRecord } from '../backend/haldir-backend.ts'
import { microsToUsd, usdToMicros } from '../money/usd-to-micros.ts'
import type { ActiveHours, BudgetWindow, CallCap, RateLimit, SessionControlsView, WindowSpendView } from '../types.ts'

/** What `createSession` was given (USD, seconds) → the backend's controls (micro-dollars, milliseconds); `null` when none. */
export function controlsInput(options: { windows: BudgetWindow[]; rateLimits: RateLimit[]; callCaps: CallCap[]; activeHours?: ActiveHours | undefined; alerts: number[] }): SessionControlsInput | null {
  const { windows, rateLimits, callCaps, activeHours, alerts } = options
  if (windows.length + rateLimits.length + callCaps.length + alerts.length === 0 && activeHours === undefined) return null
  return {
    windows: windows.map((window, index) =>
      'period' in window
        ? { kind: 'calendar' as const, period: window.period, timeZone: window.timeZone ?? 'UTC', limitMicros: usdToMicros(window.limit, `windows.${index}.limit`) }
        : { kind: 'rolling' as const, durationMs: Math.round(window.rolling * 1000), limitMicros: usdToMicros(window.limit, `windows.${index}.limit`) },
    ),
    rateLimits: rateLimits.map((rate) => ({ calls: rate.calls, perMs: Math.round(rate.per * 1000), tool: rate.tool ?? null, scope: rate.scope ?? null })),
    callCaps: callCaps.map((cap) => ({ tool: cap.tool, max: cap.max })),
    activeHours: activeHours ? { start: activeHours.start, end: activeHours.end, timeZone: activeHours.timeZone ?? 'UTC' } : null,
    thresholds: alerts,
  }
}

/** A session's controls as users read them back, with the names events and refusals use (`window:0`, `rate:0`, `cap:0`). */
export function toControls(controls: SessionControls | null): SessionControlsView {
  return {
    windows: (controls?.windows ?? []).map((window) =>
      window.kind === 'calendar'
        ? { id: window.id, period: window.period, timeZone: window.timeZone, limit: microsToUsd(window.limitMicros) }
        : { id: window.id, rolling: window.durationMs / 1000, limit: microsToUsd(window.limitMicros) },
    ),
    rateLimits: (controls?.rateLimits ?? []).map((rate) => ({ id: rate.id, calls: rate.calls, per: rate.perMs / 1000, ...(rate.tool ? { tool: rate.tool } : {}), ...(rate.scope ? { scope: rate.scope } : {}) })),
    callCaps: (controls?.callCaps ?? []).map((cap) => ({ id: cap.id, tool: cap.tool, max: cap.max })),
    activeHours: controls?.activeHours ?? null,
    alerts: [...(controls?.thresholds ?? [])],
  }
}

/** Every window as `getSpend` reports it, in USD with ISO times. */
export function toWindowSpends(spend: SpendRecord): WindowSpendView[] {
  return spend.windows.map((window) => ({
    id: window.id,
    ...(window.period === null ? { rolling: (window.durationMs ?? 0) / 1000 } : { period: window.period, timeZone: window.timeZone as string }),
    limitUsd: microsToUsd(window.limitMicros),
    spentUsd: microsToUsd(window.spentMicros),
    reservedUsd: microsToUsd(window.reservedMicros),
    remainingUsd: microsToUsd(Math.max(0, window.limitMicros - window.spentMicros - window.reservedMicros)),
    resetsAt: window.resetsAt === null ? null : new Date(window.resetsAt).toISOString(),
  }))
}
