/** The dashboard API's answers, as the page reads them (the server's `search-sessions.ts`, `session-detail.ts`, `session-trail.ts`). */
export interface SessionRow {
  id: string
  agentId: string
  parentId: string | null
  state: 'live' | 'expired' | 'revoked'
  createdAt: number
  expiresAt: number
  limitUsd: number | null
  spentUsd: number
  reservedUsd: number
  percent: number | null
  flagged: boolean
  childCount: number
  windows: { label: string; percent: number }[]
}

export interface SessionPage {
  total: number
  page: number
  pageSize: number
  mode: 'tree' | 'children' | 'matches'
  rows: SessionRow[]
}

export interface Approval {
  id: string
  sessionId: string
  agentId: string
  tool: string
  action: string
  amountMicros: number
  reason: string
  status: string
  requestedAt: number
  expiresAt: number
}

export interface TrailRow {
  id: string
  seq: number
  timestamp: string
  tool: string
  action: string
  scope: string | null
  outcome: 'ok' | 'denied' | 'error'
  flagged: boolean
  reason: string | null
  costUsd: number
  details: Record<string, unknown>
  hash: string
  holdId: string | null
  durationMs: number | null
}

export type Verification = { ok: true; count: number } | { ok: false; count: number; brokenAt: number; reason: string; message: string }

export interface SessionDetail {
  session: SessionRow & { scopes: string[]; metadata: Record<string, unknown> }
  spend: {
    spentUsd: number
    reservedUsd: number
    limitUsd: number | null
    byTool: Record<string, number>
    windows: { id: string; kind: string; period: string | null; durationMs: number | null; limitMicros: number; spentMicros: number; reservedMicros: number; resetsAt: number | null }[]
  }
  holds: { id: string; tool: string; amountUsd: number; createdAt: number; expiresAt: number }[]
  verification: Verification
  children: SessionRow[]
  approvals: Approval[]
  treeHead: { treeSize: number; rootHash: string; signedAt: number; signature: string; publicKey: string } | null
  spendOverTime: { at: string; totalUsd: number }[]
  spendByModel: Record<string, number>
}
