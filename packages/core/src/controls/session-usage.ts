import type { RateLimitRule, WindowRule } from '../backend/haldir-backend.ts'
import { periodBounds } from './period-bounds.ts'

/**
 * Money of a window made in one slot (a calendar period, or a slice of a rolling window):
 * `[start, spentMicros, reservedMicros]`. Tuples, not objects: a session's usage is stored and
 * read with every call that touches it, so it is kept small.
 */
export type MoneySlot = [start: number, spentMicros: number, reservedMicros: number]

/** Calls a rate limit counted in one slice: `[start, calls]`. */
export type CallSlot = [start: number, calls: number]

/**
 * What a session's controls have counted so far (stored with the session, changed under its
 * lock): per money window its slots, per rate limit its slots of calls, per call cap its count,
 * and the alerts already raised (so each fires once per window).
 */
export interface SessionUsage {
  windows: Record<string, MoneySlot[]>
  rates: Record<string, CallSlot[]>
  caps: Record<string, number>
  /** `<limit id>@<period start>#<threshold or 'exhausted'>`. */
  fired: string[]
}

export function emptyUsage(): SessionUsage {
  return { windows: {}, rates: {}, caps: {}, fired: [] }
}

/** A rolling window is counted in at most 60 slices (at least a second each). */
export function sliceMs(durationMs: number): number {
  return Math.max(1000, Math.ceil(durationMs / 60 / 1000) * 1000)
}

/**
 * Whether a rolling slice still counts at `now`: while any instant of it is within the last
 * `durationMs`. Money (or a call) leaves the window at the end of its slice plus the duration,
 * up to one slice later than its own instant would: never earlier, so the limit is never exceeded.
 */
function liveSlice(start: number, slice: number, durationMs: number, now: number): boolean {
  return start + slice > now - durationMs
}

/** Where money made at `at` counts: its calendar period's start, or its rolling slice's. */
export function slotOf(rule: WindowRule, at: number): number {
  if (rule.kind === 'calendar') return periodBounds(rule.period, rule.timeZone, at).start
  const slice = sliceMs(rule.durationMs)
  return at - (at % slice)
}

/** The window's money as it stands at `now`, and when it resets (calendar) or next sheds money (rolling). */
export function windowTotals(rule: WindowRule, slots: readonly MoneySlot[] | undefined, now: number): { spentMicros: number; reservedMicros: number; periodStart: number; resetsAt: number | null } {
  let spentMicros = 0
  let reservedMicros = 0
  if (rule.kind === 'calendar') {
    const bounds = periodBounds(rule.period, rule.timeZone, now)
    const slot = slots?.find((candidate) => candidate[0] === bounds.start)
    return { spentMicros: slot?.[1] ?? 0, reservedMicros: slot?.[2] ?? 0, periodStart: bounds.start, resetsAt: bounds.end }
  }
  const slice = sliceMs(rule.durationMs)
  let oldest: number | null = null
  for (const [start, spent, reserved] of slots ?? []) {
    if (!liveSlice(start, slice, rule.durationMs, now)) continue
    spentMicros += spent
    reservedMicros += reserved
    if (oldest === null || start < oldest) oldest = start
  }
  return { spentMicros, reservedMicros, periodStart: 0, resetsAt: oldest === null ? null : oldest + slice + rule.durationMs }
}

/**
 * The window's slots after money made at `at` moved by `spent` and `reserved` (decided at
 * `now`): slots that no longer count are dropped; money of a slot that no longer counts (a hold
 * settled after its window reset) changes nothing in it.
 */
export function addMoney(rule: WindowRule, slots: readonly MoneySlot[] | undefined, at: number, now: number, spent: number, reserved: number): MoneySlot[] {
  const start = slotOf(rule, at)
  const current = rule.kind === 'calendar' ? periodBounds(rule.period, rule.timeZone, now).start : 0
  const slice = rule.kind === 'rolling' ? sliceMs(rule.durationMs) : 0
  const live = (slotStart: number) => (rule.kind === 'calendar' ? slotStart === current : liveSlice(slotStart, slice, rule.durationMs, now))
  const kept = (slots ?? []).filter((slot) => live(slot[0]))
  const index = kept.findIndex((slot) => slot[0] === start)
  if (index !== -1) {
    const target = kept[index] as MoneySlot
    kept[index] = [start, target[1] + spent, Math.max(0, target[2] + reserved)]
    return kept
  }
  // Money of a slot gone by: its window has moved on without it.
  if (!live(start) || (spent <= 0 && reserved <= 0)) return kept
  kept.push([start, spent, Math.max(0, reserved)])
  return kept
}

/** Calls a rate limit counts at `now`, and when the oldest of them leaves the window. */
export function rateCount(rule: RateLimitRule, slots: readonly CallSlot[] | undefined, now: number): { used: number; resetsAt: number | null } {
  const slice = sliceMs(rule.perMs)
  let used = 0
  let oldest: number | null = null
  for (const [start, calls] of slots ?? []) {
    if (!liveSlice(start, slice, rule.perMs, now)) continue
    used += calls
    if (oldest === null || start < oldest) oldest = start
  }
  return { used, resetsAt: oldest === null ? null : oldest + slice + rule.perMs }
}

/** The rate limit's slots after one more call at `now`. */
export function addCall(rule: RateLimitRule, slots: readonly CallSlot[] | undefined, now: number): CallSlot[] {
  const slice = sliceMs(rule.perMs)
  const start = now - (now % slice)
  const kept = (slots ?? []).filter((slot) => liveSlice(slot[0], slice, rule.perMs, now))
  const index = kept.findIndex((slot) => slot[0] === start)
  if (index === -1) kept.push([start, 1])
  else kept[index] = [start, (kept[index] as CallSlot)[1] + 1]
  return kept
}
