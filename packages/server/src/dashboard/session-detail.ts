import type { AuditVerification, TreeHead } from '@haldir/core'
import type { ApprovalRecord, HaldirBackend, HoldInfo, SessionRecord, SpendRecord } from '@haldir/core/backend'
import { microsToUsd } from '@haldir/core/backend'
import { type SessionRow, searchSessions, sessionRow } from './search-sessions.ts'
import { readSessionTrail, spendByModel, spendSeries } from './session-trail.ts'

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
  /** Metered model calls' spend by model. */
  spendByModel: Record<string, number>
}

/** Revoked when it or an ancestor is (walked up by id: a crew's revocation covers its agents), else expired or live. */
async function stateOf(backend: HaldirBackend, tenant: string, record: SessionRecord, now = Date.now()): Promise<SessionRow['state']> {
  for (let current: SessionRecord | null = record; current; current = current.parentId ? await backend.getSession({ tenant, sessionId: current.parentId }).catch(() => null) : null) {
    if (current.revokedAt !== null) return 'revoked'
  }
  return record.expiresAt <= now ? 'expired' : 'live'
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
  const [state, flagged] = await Promise.all([stateOf(backend, tenant, record), backend.queryAudit({ tenant, sessionId, agentId: null, outcome: null, flagged: true, limit: 1, offset: 0 })])
  const row = sessionRow(record, spend, { state, flagged: flagged.count > 0, childCount: children.total })
  const byTool = Object.fromEntries(Object.entries(spend.byTool).map(([tool, micros]) => [tool, microsToUsd(micros)]))
  return {
    session: {
      ...row,
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
    spendByModel: spendByModel(entries),
  }
}
