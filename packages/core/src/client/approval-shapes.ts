import type { ApprovalDemand, ApprovalRecord, ApprovalRuleInput, ApprovalRuleRecord } from '../backend/haldir-backend.ts'
import { microsToUsd, usdToMicros } from '../money/usd-to-micros.ts'
import type { Approval, ApprovalRule, RequireApproval, StoredApprovalRule } from '../types.ts'

const seconds = (ms: number | null) => (ms === null ? undefined : ms / 1000)
const millis = (s: number | undefined) => (s === undefined ? null : Math.round(s * 1000))

/** A rule as users write it (USD, seconds) → as the backend contract carries it (micro-dollars, milliseconds). */
export function ruleInput(rule: ApprovalRule): ApprovalRuleInput {
  const options = { reason: rule.reason ?? null, timeoutMs: millis(rule.timeout), onTimeout: rule.onTimeout ?? null }
  switch (rule.kind) {
    case 'all':
      return { kind: 'all', ...options }
    case 'spend_over':
      return { kind: 'spend_over', thresholdMicros: usdToMicros(rule.thresholdUsd, 'thresholdUsd'), ...options }
    case 'tool':
      return { kind: 'tool', tools: [...rule.tools], ...options }
    case 'scope':
      return { kind: 'scope', scopes: [...rule.scopes], ...options }
    case 'destructive':
      return { kind: 'destructive', verbs: rule.verbs ? [...rule.verbs] : null, ...options }
  }
}

/** A stored rule as users read it. */
export function toRule(record: ApprovalRuleRecord): StoredApprovalRule {
  const options = {
    id: record.id,
    ...(record.reason === null ? {} : { reason: record.reason }),
    ...(record.timeoutMs === null ? {} : { timeout: seconds(record.timeoutMs) as number }),
    ...(record.onTimeout === null ? {} : { onTimeout: record.onTimeout }),
  }
  switch (record.kind) {
    case 'all':
      return { kind: 'all', ...options }
    case 'spend_over':
      return { kind: 'spend_over', thresholdUsd: microsToUsd(record.thresholdMicros), ...options }
    case 'tool':
      return { kind: 'tool', tools: [...record.tools], ...options }
    case 'scope':
      return { kind: 'scope', scopes: [...record.scopes], ...options }
    case 'destructive':
      return { kind: 'destructive', ...(record.verbs === null ? {} : { verbs: [...record.verbs] }), ...options }
  }
}

/** What a caller's `requireApproval` asks, for the gate; `null` when it asks nothing. */
export function demandOf(require: true | string | RequireApproval | undefined, tool: string): ApprovalDemand | null {
  if (require === undefined) return null
  if (require === true) return { reason: `'${tool}' requires approval`, timeoutMs: null, onTimeout: null }
  if (typeof require === 'string') return { reason: require, timeoutMs: null, onTimeout: null }
  return { reason: require.reason ?? `'${tool}' requires approval`, timeoutMs: millis(require.timeout), onTimeout: require.onTimeout ?? null }
}

/** An approval as users see it: USD and ISO 8601 times. */
export function toApproval(record: ApprovalRecord): Approval {
  const iso = (at: number) => new Date(at).toISOString()
  return {
    id: record.id,
    sessionId: record.sessionId,
    agentId: record.agentId,
    holdId: record.holdId,
    mode: record.mode,
    tool: record.tool,
    action: record.action,
    scope: record.scope,
    amountUsd: microsToUsd(record.amountMicros),
    reason: record.reason,
    status: record.status,
    requestedAt: iso(record.requestedAt),
    expiresAt: iso(record.expiresAt),
    onTimeout: record.onTimeout,
    decidedAt: record.decidedAt === null ? null : iso(record.decidedAt),
    decidedBy: record.decidedBy,
    note: record.note,
    used: record.used,
    details: record.details,
  }
}
