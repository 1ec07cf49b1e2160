import type { SessionRecord, SpendRecord } from '../backend/haldir-backend.ts'
import { microsToUsd } from '../money/usd-to-micros.ts'
import type { Session, Spend } from '../types.ts'
import { toRule } from './approval-shapes.ts'
import { toControls, toWindowSpends } from './control-shapes.ts'

/** A stored session as users see it: USD and ISO 8601 times. */
export function toSession(record: SessionRecord): Session {
  return {
    id: record.id,
    agentId: record.agentId,
    scopes: [...record.scopes],
    spendLimit: record.limitMicros === null ? null : microsToUsd(record.limitMicros),
    createdAt: new Date(record.createdAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    parentId: record.parentId,
    revokedAt: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
    metadata: record.metadata,
    approvalRules: record.approvalRules.map(toRule),
    controls: toControls(record.controls),
  }
}

/** A session's money as users see it, in USD. */
export function toSpend(spend: SpendRecord): Spend {
  const byTool: Record<string, number> = {}
  for (const [tool, micros] of Object.entries(spend.byTool)) byTool[tool] = microsToUsd(micros)
  return {
    totalUsd: microsToUsd(spend.spentMicros),
    limitUsd: spend.limitMicros === null ? null : microsToUsd(spend.limitMicros),
    remainingUsd: spend.limitMicros === null ? null : microsToUsd(Math.max(0, spend.limitMicros - spend.spentMicros - spend.reservedMicros)),
    reservedUsd: microsToUsd(spend.reservedMicros),
    byTool,
    windows: toWindowSpends(spend),
    rateLimits: spend.rateLimits.map((rate) => ({
      id: rate.id,
      calls: rate.calls,
      per: rate.perMs / 1000,
      tool: rate.tool,
      scope: rate.scope,
      used: rate.used,
      resetsAt: rate.resetsAt === null ? null : new Date(rate.resetsAt).toISOString(),
    })),
    callCaps: spend.callCaps.map((cap) => ({ ...cap })),
  }
}
