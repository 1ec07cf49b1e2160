import { microsToUsd } from '../money/usd-to-micros.ts'

/** What the budget check reads of one session of a chain: its limit and its money. */
export interface BudgetLevel {
  record: { id: string; limitMicros: number | null }
  spentMicros: number
  reservedMicros: number
}

export interface BudgetFailure {
  code: 'budget_exceeded'
  limitingSessionId: string
  limitMicros: number
  spentMicros: number
  reservedMicros: number
  requestedMicros: number
  reason: string
}

/**
 * Whether `amountMicros` more fits under the limit of the session and every ancestor
 * (`levels[0]` is the session; a loaded session chain is such a list). Settled spend plus open
 * reservations must stay within each limit; the first level that would overflow refuses the
 * whole amount.
 */
export function checkBudget(levels: readonly BudgetLevel[], amountMicros: number): BudgetFailure | null {
  for (const level of levels) {
    const { id, limitMicros } = level.record
    if (limitMicros === null) continue
    if (level.spentMicros + level.reservedMicros + amountMicros > limitMicros) {
      const own = level === levels[0]
      return {
        code: 'budget_exceeded',
        limitingSessionId: id,
        limitMicros,
        spentMicros: level.spentMicros,
        reservedMicros: level.reservedMicros,
        requestedMicros: amountMicros,
        reason:
          `budget exceeded: $${microsToUsd(amountMicros)} requested, $${microsToUsd(level.spentMicros)} spent` +
          (level.reservedMicros ? ` and $${microsToUsd(level.reservedMicros)} reserved` : '') +
          ` of $${microsToUsd(limitMicros)}` +
          (own ? '' : ` (limit of ancestor ${id})`),
      }
    }
  }
  return null
}
