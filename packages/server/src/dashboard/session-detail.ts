import type { AuditVerification, TreeHead } from '@haldir/core'
import type { ApprovalRecord, HaldirBackend, HoldInfo, SpendRecord } from '@haldir/core/backend'
import { microsToUsd } from '@haldir/core/backend'
import { type SessionRow, searchSessions } from './search-sessions.ts'
import { readSessionTrail, spendSeries } from './session-trail.ts'

/** Everything the session page shows besides the trail itself. */
export interface SessionDetail {
  session: SessionRow & { scopes: readonly string[]; metadata: Record<string, unknown> }
  /** Spend as the backend reports it, money in USD. */
  spend: { spentUsd: number; reservedUsd: number; limitUsd: number | null; byTool: Record<string, number>; windows: SpendRecord['windows'] }
  holds: (Omit<HoldInfo, 'amountMicros'> & { amountUsd: number })[]
  verification: AuditVerification
  children: SessionRow[]
  approvals: ApprovalRecord[]
  /** The tenant's latest signed tree head, when the backend keeps a ledger. */
  treeHead: TreeHead | null
  spendOverTime: { at: string; totalUsd: number }[]
}

/** Reads the session page's data in parallel; the tree head is optional (a backend without a ledger has none). */
export async function sessionDetail(backend: HaldirBackend, tenant: string, sessionId: string): Promise<SessionDetail> {
  const record = await backend.getSession({ tenant, sessionId })
  const [spend, holds, verification, children, approvals, entries, treeHead] = await Promise.all([
    backend.getSpend({ tenant, sessionId }),
    backend.listHolds({ tenant, sessionId, limit: 1000 }),
    backend.verifyAudit({ tenant, sessionId }),
    searchSessions(backend, tenant, { q: '', state: 'any', over80: '0', flagged: '0', parentId: sessionId, page: 1, pageSize: 200 }),
    backend.listApprovals({ tenant, sessionId, status: null, limit: 100 }),
    readSessionTrail(backend, tenant, sessionId),
    backend.treeHead({ tenant }).catch(() => null),
  ])
  const own = await searchSessions(backend, tenant, { q: sessionId, state: 'any', over80: '0', flagged: '0', page: 1, pageSize: 200 })
  const row = own.rows.find((candidate) => candidate.id === sessionId)
  const byTool = Object.fromEntries(Object.entries(spend.byTool).map(([tool, micros]) => [tool, microsToUsd(micros)]))
  return {
    session: {
      ...(row as SessionRow),
      scopes: record.scopes,
      metadata: record.metadata,
    },
    spend: { spentUsd: microsToUsd(spend.spentMicros), reservedUsd: microsToUsd(spend.reservedMicros), limitUsd: spend.limitMicros === null ? null : microsToUsd(spend.limitMicros), byTool, windows: spend.windows },
    holds: holds.map(({ amountMicros, ...hold }) => ({ ...hold, amountUsd: microsToUsd(amountMicros) })),
    verification,
    children: children.rows,
    approvals,
    treeHead,
    spendOverTime: spendSeries(entries),
  }
}
