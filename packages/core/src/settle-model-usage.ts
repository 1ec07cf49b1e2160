import type { AuditEntry } from './audit/audit-entry.ts'
import { tokenCost, type TokenPrice, type TokenUsage } from './money/token-cost.ts'
import type { Hold } from './types.ts'

/** The audit action of a metered model call, in every adapter (the kind of call is in the details). */
export const MODEL_CALL_ACTION = 'model.call'

/**
 * Settles the hold of a metered model call by its token usage, the same way in every adapter:
 * the token cost rounded up to the micro-dollar; the whole reservation, flagged, when the usage
 * would cost more than was reserved or when the provider reported none (the tokens were spent
 * all the same).
 */
export function settleModelUsage(
  hold: Hold,
  options: { usage: TokenUsage | undefined; price: TokenPrice; maxCost: number; kind: 'generate' | 'stream' },
): Promise<AuditEntry> {
  const { usage, price, maxCost } = options
  const inputTokens = usage?.inputTokens
  const outputTokens = usage?.outputTokens
  const actual = tokenCost({ inputTokens, outputTokens }, price)
  const missing = inputTokens === undefined && outputTokens === undefined
  const over = actual > maxCost
  return hold.settle(over || missing ? maxCost : actual, {
    action: MODEL_CALL_ACTION,
    details: { kind: options.kind, inputTokens: inputTokens ?? null, outputTokens: outputTokens ?? null },
    flagged: over || missing,
    ...(over ? { reason: `usage cost $${actual} exceeded maxCost $${maxCost}; charged maxCost` } : missing ? { reason: 'no token usage reported; charged maxCost' } : {}),
  })
}
