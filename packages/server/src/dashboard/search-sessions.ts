import type { HaldirBackend, SessionRecord, SpendRecord } from '@haldir/core/backend'
import { BackendError, microsToUsd } from '@haldir/core/backend'
import { z } from 'zod'

/** The most sessions a search looks through: `listSessions` answers at most this many (newest first). */
export const SEARCH_WINDOW = 10_000

export const sessionSearchSchema = z.strictObject({
  q: z.string().max(200).default(''),
  state: z.enum(['any', 'live', 'expired', 'revoked']).default('any'),
  over80: z.enum(['0', '1']).default('0'),
  flagged: z.enum(['0', '1']).default('0'),
  parentId: z.string().max(200).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(25),
})

export type SessionSearch = z.infer<typeof sessionSearchSchema>
export type SessionState = 'live' | 'expired' | 'revoked'

/** One row of the sessions table: the record, its state, its money, and whether it has children to open. */
export interface SessionRow {
  id: string
  agentId: string
  parentId: string | null
  state: SessionState
  createdAt: number
  expiresAt: number
  limitUsd: number | null
  spentUsd: number
  reservedUsd: number
  /** Spent plus reserved, as a share of the limit (0–100+); `null` without a limit. */
  percent: number | null
  flagged: boolean
  childCount: number
  /** Each budget window (`day`, `rolling 3600 s`) with its spent plus reserved share of its limit. */
  windows: { label: string; percent: number }[]
}

export interface SessionSearchPage {
  total: number
  page: number
  pageSize: number
  /** `tree`: roots only, children opened on demand; `children`: the children of `parentId`; `matches`: a flat list of filter matches. */
  mode: 'tree' | 'children' | 'matches'
  rows: SessionRow[]
}

/** A session as a row of the list and the head of its page: spend against the limit in USD, the share of the limit committed. */
export function sessionRow(record: SessionRecord, spend: SpendRecord, facts: { state: SessionState; flagged: boolean; childCount: number }): SessionRow {
  const limit = spend.limitMicros
  return {
    id: record.id,
    agentId: record.agentId,
    parentId: record.parentId,
    state: facts.state,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    limitUsd: limit === null ? null : microsToUsd(limit),
    spentUsd: microsToUsd(spend.spentMicros),
    reservedUsd: microsToUsd(spend.reservedMicros),
    percent: limit === null || limit === 0 ? null : Math.round(((spend.spentMicros + spend.reservedMicros) / limit) * 1000) / 10,
    flagged: facts.flagged,
    childCount: facts.childCount,
    windows: spend.windows.map((window) => ({
      label: window.kind === 'calendar' ? `${window.period}` : `rolling ${Math.round((window.durationMs ?? 0) / 1000)} s`,
      percent: window.limitMicros === 0 ? 100 : Math.round(((window.spentMicros + window.reservedMicros) / window.limitMicros) * 1000) / 10,
    })),
  }
}

/** A session's state: revoked (itself or an ancestor) wins over expired. */
export function sessionState(record: SessionRecord, byId: ReadonlyMap<string, SessionRecord>, now: number): SessionState {
  for (let current: SessionRecord | undefined = record; current; current = current.parentId ? byId.get(current.parentId) : undefined) {
    if (current.revokedAt !== null) return 'revoked'
  }
  return record.expiresAt <= now ? 'expired' : 'live'
}

/** Ids of the tenant's sessions with at least one flagged entry (denials and anything a reviewer should see). */
async function flaggedSessionIds(backend: HaldirBackend, tenant: string): Promise<Set<string>> {
  const ids = new Set<string>()
  // Bounded: ten pages of the newest flagged entries is what a dashboard can show anyway.
  for (let offset: number | null = 0, pages = 0; offset !== null && pages < 10; pages++) {
    const page = await backend.queryAudit({ tenant, sessionId: null, agentId: null, outcome: null, flagged: true, limit: 10_000, offset })
    for (const entry of page.entries) ids.add(entry.sessionId)
    offset = page.nextOffset
  }
  return ids
}

/**
 * The dashboard's server-side search: filters (text on agent or id, state, over 80 % of the
 * limit, flagged) and paging over the tenant's newest {@link SEARCH_WINDOW} sessions, with spend
 * read only for the rows it must (the page, or every candidate when filtering by spend). It runs
 * over `listSessions` rather than a new backend operation so every backend that lists sessions
 * supports it unchanged; a backend with millions of sessions would want this pushed into its store.
 */
export async function searchSessions(backend: HaldirBackend, tenant: string, search: SessionSearch, now = Date.now()): Promise<SessionSearchPage> {
  if (!backend.listSessions) throw new BackendError({ message: `The ${backend.name} backend does not list sessions`, status: 501 })
  const records = await backend.listSessions({ tenant, limit: SEARCH_WINDOW })
  const byId = new Map(records.map((record) => [record.id, record]))
  const childCount = new Map<string, number>()
  for (const record of records) if (record.parentId) childCount.set(record.parentId, (childCount.get(record.parentId) ?? 0) + 1)
  const flagged = await flaggedSessionIds(backend, tenant)
  const text = search.q.trim().toLowerCase()
  const filtering = text !== '' || search.state !== 'any' || search.over80 === '1' || search.flagged === '1'
  const mode: SessionSearchPage['mode'] = search.parentId !== undefined ? 'children' : filtering ? 'matches' : 'tree'
  let candidates = records.filter((record) => {
    if (mode === 'children') return record.parentId === search.parentId
    if (mode === 'tree') return record.parentId === null || !byId.has(record.parentId)
    if (text !== '' && !record.agentId.toLowerCase().includes(text) && !record.id.toLowerCase().includes(text)) return false
    if (search.state !== 'any' && sessionState(record, byId, now) !== search.state) return false
    if (search.flagged === '1' && !flagged.has(record.id)) return false
    return true
  })
  const rowOf = async (record: SessionRecord): Promise<SessionRow> =>
    sessionRow(record, await backend.getSpend({ tenant, sessionId: record.id }), { state: sessionState(record, byId, now), flagged: flagged.has(record.id), childCount: childCount.get(record.id) ?? 0 })
  const start = (search.page - 1) * search.pageSize
  if (search.over80 === '1') {
    const rows = (await Promise.all(candidates.map(rowOf))).filter((row) => row.percent !== null && row.percent >= 80)
    return { total: rows.length, page: search.page, pageSize: search.pageSize, mode, rows: rows.slice(start, start + search.pageSize) }
  }
  const total = candidates.length
  candidates = candidates.slice(start, start + search.pageSize)
  return { total, page: search.page, pageSize: search.pageSize, mode, rows: await Promise.all(candidates.map(rowOf)) }
}
