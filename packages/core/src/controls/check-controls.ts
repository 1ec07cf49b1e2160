import type { DenialCode, SessionRecord, WindowRule } from '../backend/haldir-backend.ts'
import { microsToUsd } from '../money/usd-to-micros.ts'
import { scopeMatches } from '../policy/scope-matches.ts'
import { activeHoursAt } from './active-hours.ts'
import { rateCount, type SessionUsage, windowTotals } from './session-usage.ts'

/** What the controls check reads of one session of a chain. */
export interface ControlledLevel {
  record: SessionRecord
  usage: SessionUsage | null
}

export interface ControlFailure {
  code: Extract<DenialCode, 'budget_exceeded' | 'rate_limited' | 'call_cap_reached' | 'outside_hours'>
  reason: string
  facts: Record<string, unknown>
}

/** Whether a rate limit counts a call of `tool` needing `scope`. */
export function rateLimitCounts(rule: { tool: string | null; scope: string | null }, tool: string, scope: string | null): boolean {
  if (rule.tool !== null && rule.tool !== tool) return false
  if (rule.scope !== null && (scope === null || !scopeMatches(rule.scope, scope))) return false
  return true
}

/** A window as people read it: `day (Europe/Berlin)`, `rolling 1h`. */
export function describeWindow(rule: WindowRule): string {
  if (rule.kind === 'calendar') return `${rule.period} (${rule.timeZone})`
  const seconds = rule.durationMs / 1000
  return `rolling ${seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`}`
}

const secondsUntil = (at: number | null, now: number) => (at === null ? 0 : Math.max(1, Math.ceil((at - now) / 1000)))

/**
 * The controls of a call, over the session and every ancestor (a crew's rate limit counts its
 * members' calls, as its budget counts their money), in the order a reviewer reads a refusal:
 * active hours, call caps, rate limits, then budget windows. Only calls that would go through
 * are counted, so a refused call never uses up a limit. `null`: the controls allow it.
 */
export function checkControls(chain: readonly ControlledLevel[], call: { tool: string; scope: string | null; amountMicros: number; now: number }): ControlFailure | null {
  const { tool, scope, amountMicros, now } = call
  for (let index = 0; index < chain.length; index++) {
    const level = chain[index] as ControlledLevel
    const controls = level.record.controls
    if (controls === null) continue
    const own = index === 0
    const whose = own ? '' : ` (of ancestor ${level.record.id})`
    if (controls.activeHours) {
      const hours = activeHoursAt(controls.activeHours, now)
      if (!hours.open) {
        const { start, end, timeZone } = controls.activeHours
        return {
          code: 'outside_hours',
          reason: `calls are allowed only between ${start} and ${end} (${timeZone})${whose}`,
          facts: { sessionId: chain[0]?.record.id, limitingSessionId: level.record.id, start, end, timeZone, retryAfterSeconds: hours.retryAfterSeconds },
        }
      }
    }
    for (const cap of controls.callCaps) {
      if (cap.tool !== tool) continue
      const used = level.usage?.caps[cap.id] ?? 0
      if (used + 1 > cap.max) {
        return {
          code: 'call_cap_reached',
          reason: `call cap reached: '${tool}' may be called ${cap.max} time${cap.max === 1 ? '' : 's'} per session${whose}, and it was`,
          facts: { sessionId: chain[0]?.record.id, limitingSessionId: level.record.id, limit: cap.id, tool, max: cap.max, used },
        }
      }
    }
    for (const rate of controls.rateLimits) {
      if (!rateLimitCounts(rate, tool, scope)) continue
      const { used, resetsAt } = rateCount(rate, level.usage?.rates[rate.id], now)
      if (used + 1 > rate.calls) {
        const retryAfterSeconds = secondsUntil(resetsAt, now)
        return {
          code: 'rate_limited',
          reason: `rate limit: ${rate.calls} call${rate.calls === 1 ? '' : 's'} per ${rate.perMs / 1000}s${rate.tool ? ` of '${rate.tool}'` : rate.scope ? ` needing '${rate.scope}'` : ''}${whose}; retry in ${retryAfterSeconds}s`,
          facts: { sessionId: chain[0]?.record.id, limitingSessionId: level.record.id, limit: rate.id, tool, calls: rate.calls, perSeconds: rate.perMs / 1000, used, retryAfterSeconds, resetsAt },
        }
      }
    }
    if (amountMicros === 0) continue
    for (const window of controls.windows) {
      const totals = windowTotals(window, level.usage?.windows[window.id], now)
      if (totals.spentMicros + totals.reservedMicros + amountMicros > window.limitMicros) {
        return {
          code: 'budget_exceeded',
          reason:
            `budget window ${describeWindow(window)} exceeded: $${microsToUsd(amountMicros)} requested, $${microsToUsd(totals.spentMicros)} spent` +
            (totals.reservedMicros ? ` and $${microsToUsd(totals.reservedMicros)} reserved` : '') +
            ` of $${microsToUsd(window.limitMicros)}${whose}` +
            (totals.resetsAt === null ? '' : `; resets at ${new Date(totals.resetsAt).toISOString()}`),
          facts: {
            sessionId: chain[0]?.record.id,
            limitingSessionId: level.record.id,
            limit: window.id,
            window: describeWindow(window),
            requestedUsd: microsToUsd(amountMicros),
            limitUsd: microsToUsd(window.limitMicros),
            spentUsd: microsToUsd(totals.spentMicros),
            reservedUsd: microsToUsd(totals.reservedMicros),
            periodStart: totals.periodStart,
            resetsAt: totals.resetsAt === null ? null : new Date(totals.resetsAt).toISOString(),
            retryAfterSeconds: secondsUntil(totals.resetsAt, now),
          },
        }
      }
    }
  }
  return null
}
