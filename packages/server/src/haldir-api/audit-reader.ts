import type { AuditEntry, HaldirBackend } from '@haldir/core'

/** Which entries of a tenant: by session, agent and flag (the filters the engine applies itself). */
export interface AuditFilter {
  tenant: string
  sessionId: string | null
  agentId: string | null
  flagged: boolean | null
}

const PAGE = 1000

/** The matching entries in stored (append) order, page by page: memory stays bounded at any size. */
export async function* entriesOldestFirst(backend: HaldirBackend, filter: AuditFilter): AsyncGenerator<AuditEntry> {
  for (let offset: number | null = 0; offset !== null; ) {
    const page = await backend.queryAudit({ ...filter, outcome: null, limit: PAGE, offset })
    yield* page.entries
    offset = page.nextOffset
  }
}

/**
 * The newest `limit` matching entries that `keep` accepts, newest first (upstream's order for
 * `GET /v1/audit`), read backwards page by page from the end of the trail as it stood when the
 * read began (entries appended meanwhile are not included).
 */
export async function entriesNewestFirst(backend: HaldirBackend, filter: AuditFilter, limit: number, keep: (entry: AuditEntry) => boolean = () => true): Promise<AuditEntry[]> {
  const { count } = await backend.queryAudit({ ...filter, outcome: null, limit: 1, offset: 0 })
  const out: AuditEntry[] = []
  for (let end = count; end > 0 && out.length < limit; ) {
    const start = Math.max(0, end - PAGE)
    const range: AuditEntry[] = []
    // A page may come back shorter than asked (the engine cuts pages by size): read on to `end`.
    for (let offset = start; offset < end; ) {
      const page = await backend.queryAudit({ ...filter, outcome: null, limit: end - offset, offset })
      if (page.entries.length === 0) break
      range.push(...page.entries)
      offset += page.entries.length
    }
    for (let index = range.length - 1; index >= 0 && out.length < limit; index--) {
      const entry = range[index] as AuditEntry
      if (keep(entry)) out.push(entry)
    }
    end = start
  }
  return out
}
