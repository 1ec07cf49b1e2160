import type { AuditEntry } from './audit/audit-entry.ts'
import { ValidationError } from './errors/validation-error.ts'
import { tokenCost, type TokenPrice, type TokenUsage } from './money/token-cost.ts'
import type { Hold } from './types.ts'

/** The audit action of a metered model call, in every adapter (the kind of call is in the details). */
export const MODEL_CALL_ACTION = 'model.call'

/**
 * Settles the hold of a metered model call by its token usage, the same way in every adapter:
 * the token cost (cached, cache-written and reasoning tokens at their own rates) rounded up to
 * the micro-dollar; the whole reservation, flagged, when the usage
 * would cost more than was reserved or when the provider reported none (the tokens were spent
 * all the same).
 */
export async function settleModelUsage(
  hold: Hold,
  options: { usage: TokenUsage | undefined; price: TokenPrice; maxCost: number; kind: 'generate' | 'stream' },
): Promise<AuditEntry> {
  const { usage, price, maxCost } = options
  const inputTokens = usage?.inputTokens ?? undefined
  const outputTokens = usage?.outputTokens ?? undefined
  // Counts a provider got wrong (negative, fractional) are no reason to leave the tokens unpaid:
  // the whole reservation is charged, flagged, as when none were reported.
  let actual = 0
  let unreadable: string | undefined
  try {
    actual = tokenCost(usage ?? {}, price)
  } catch (error) {
    if (!ValidationError.isInstance(error) || error.issues.some((issue) => issue.path.startsWith('price'))) throw error
    unreadable = error.message
  }
  const missing = inputTokens === undefined && outputTokens === undefined
  const over = unreadable === undefined && actual > maxCost
  const reason = over
    ? `usage cost $${actual} exceeded maxCost $${maxCost}; charged maxCost`
    : unreadable !== undefined
      ? `token usage unreadable (${unreadable}); charged maxCost`
      : missing
        ? 'no token usage reported; charged maxCost'
        : undefined
  // The kinds of tokens that bill at their own rates are recorded when the provider reported them.
  const kinds: Record<string, number> = {}
  for (const kind of ['cachedInputTokens', 'cacheWriteInputTokens', 'reasoningTokens'] as const) {
    const count = usage?.[kind]
    if (typeof count === 'number') kinds[kind] = count
  }
  return hold.settle(reason === undefined ? actual : maxCost, {
    action: MODEL_CALL_ACTION,
    details: { kind: options.kind, inputTokens: inputTokens ?? null, outputTokens: outputTokens ?? null, ...kinds },
    flagged: reason !== undefined,
    ...(reason === undefined ? {} : { reason }),
  })
}
