/** What a backend knows of one session's money when it decides a charge. */
export interface BudgetLevel {
  sessionId: string
  limitMicros: number | null
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
 * (`levels[0]` is the session). Settled spend plus open reservations must stay within each limit;
 * the first level that would overflow refuses the whole amount.
 */
export function checkBudget(levels: readonly BudgetLevel[], amountMicros: number): BudgetFailure | null {
  for (const level of levels) {
    if (level.limitMicros === null) continue
    if (level.spentMicros + level.reservedMicros + amountMicros > level.limitMicros) {
      const own = level === levels[0]
      return {
        code: 'budget_exceeded',
        limitingSessionId: level.sessionId,
        limitMicros: level.limitMicros,
        spentMicros: level.spentMicros,
        reservedMicros: level.reservedMicros,
        requestedMicros: amountMicros,
        reason:
          `budget exceeded: $${amountMicros / 1e6} requested, $${level.spentMicros / 1e6} spent` +
          (level.reservedMicros ? ` and $${level.reservedMicros / 1e6} reserved` : '') +
          ` of $${level.limitMicros / 1e6}` +
          (own ? '' : ` (limit of ancestor ${level.sessionId})`),
      }
    }
  }
  return null
}
