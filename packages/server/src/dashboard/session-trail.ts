import { type AuditEntry, MODEL_CALL_ACTION } from '@haldir/core'
import type { HaldirBackend } from '@haldir/core/backend'
import { z } from 'zod'

/** The most entries of one session the dashboard reads (its trail is paged out of these). */
export const TRAIL_WINDOW = 50_000

export const trailFilterSchema = z.strictObject({
  outcome: z.enum(['any', 'ok', 'denied', 'error']).default('any'),
  tool: z.string().max(200).default(''),
  /** ISO 8601 or a `datetime-local` value; entries at or after it. */
  from: z.string().max(40).default(''),
  to: z.string().max(40).default(''),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
})

export type TrailFilter = z.infer<typeof trailFilterSchema>

/** An entry as the dashboard shows it: the stored entry (its details already redacted by the gate) plus the hold it belongs to and how long that hold was open. */
export interface TrailRow extends AuditEntry {
  holdId: string | null
  durationMs: number | null
}

/** Every entry of a session, oldest first, in pages of the backend's largest. */
export async function readSessionTrail(backend: HaldirBackend, tenant: string, sessionId: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = []
  for (let offset: number | null = 0; offset !== null && entries.length < TRAIL_WINDOW; ) {
    const page = await backend.queryAudit({ tenant, sessionId, agentId: null, outcome: null, flagged: null, limit: 10_000, offset })
    entries.push(...page.entries)
    offset = page.nextOffset
  }
  return entries.sort((a, b) => a.seq - b.seq)
}

const instant = (value: string): number | null => {
  if (value === '') return null
  const time = Date.parse(value)
  return Number.isNaN(time) ? null : time
}

/**
 * Filters a trail (outcome, tool substring, time range) and pages it. A settle or release is
 * given its hold's duration: the time since the reserve entry of the same hold, which is how
 * long the governed call took (approval waits included).
 */
export function filterTrail(entries: readonly AuditEntry[], filter: TrailFilter): { total: number; offset: number; rows: TrailRow[] } {
  const reservedAt = new Map<string, number>()
  const rows: TrailRow[] = entries.map((entry) => {
    const mark = entry.ledger
    const holdId = mark && mark.op !== 'charge' ? mark.holdId : null
    let durationMs: number | null = null
    if (mark?.op === 'reserve') reservedAt.set(mark.holdId, Date.parse(entry.timestamp))
    else if (holdId !== null && reservedAt.has(holdId)) durationMs = Date.parse(entry.timestamp) - (reservedAt.get(holdId) as number)
    return { ...entry, holdId, durationMs }
  })
  const from = instant(filter.from)
  const to = instant(filter.to)
  const tool = filter.tool.trim().toLowerCase()
  const matching = rows.filter((row) => {
    if (filter.outcome !== 'any' && row.outcome !== filter.outcome) return false
    if (tool !== '' && !row.tool.toLowerCase().includes(tool)) return false
    const time = Date.parse(row.timestamp)
    if (from !== null && time < from) return false
    if (to !== null && time > to) return false
    return true
  })
  return { total: matching.length, offset: filter.offset, rows: matching.slice(filter.offset, filter.offset + filter.limit) }
}

/** Cumulative spend after each charging entry, for the spend-over-time chart (at most `points`, evenly thinned). */
export function spendSeries(entries: readonly AuditEntry[], points = 200): { at: string; totalUsd: number }[] {
  const series: { at: string; totalUsd: number }[] = []
  let total = 0
  for (const entry of entries) {
    if (entry.costUsd === 0) continue
    total = Math.round((total + entry.costUsd) * 1e6) / 1e6
    series.push({ at: entry.timestamp, totalUsd: total })
  }
  if (series.length <= points) return series
  const step = series.length / points
  return Array.from({ length: points }, (_, index) => series[Math.min(series.length - 1, Math.floor((index + 1) * step) - 1)] as { at: string; totalUsd: number })
}

/**
 * What the session's metered model calls cost, by model: every adapter audits a model call as
 * `model.call` under the model's name (or its `auditName`), so tool spend alone would mix them in.
 */
export function spendByModel(entries: readonly AuditEntry[]): Record<string, number> {
  const byModel: Record<string, number> = {}
  for (const entry of entries) {
    if (entry.action !== MODEL_CALL_ACTION || entry.costUsd === 0) continue
    byModel[entry.tool] = Math.round(((byModel[entry.tool] ?? 0) + entry.costUsd) * 1e6) / 1e6
  }
  return byModel
}
