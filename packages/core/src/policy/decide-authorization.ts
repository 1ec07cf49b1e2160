import type { AuthorizeMode, DenialCode, SessionRecord } from '../backend/haldir-backend.ts'
import { microsToUsd } from '../money/usd-to-micros.ts'
import { checkControls } from '../controls/check-controls.ts'
import type { SessionUsage } from '../controls/session-usage.ts'
import { type BudgetLevel, checkBudget } from './check-budget.ts'
import { checkLiveness } from './check-liveness.ts'
import { scopesAllow } from './scope-matches.ts'

export type AuthorizationDecision =
  | { allowed: true }
  | { allowed: false; code: DenialCode; reason: string; facts: Record<string, unknown> }

/**
 * The gate's whole policy in one pure function, in the order a reviewer expects to read a
 * refusal: liveness (session and ancestors), then scope, then budget (session and ancestors).
 * A plan calls this with the chain its store loaded under lock.
 */
export function decideAuthorization(options: {
  /** The session, then its ancestors: each with its record and its money (the loaded chain). */
  chain: readonly (BudgetLevel & { record: SessionRecord; usage?: SessionUsage | null })[]
  mode: AuthorizeMode
  scope: string | null
  amountMicros: number
  now: number
  /** The tool called (rate limits and call caps count by it). */
  tool?: string
}): AuthorizationDecision {
  const { chain, mode, scope, amountMicros, now } = options
  const session = chain[0]?.record
  if (!session) throw new Error('decideAuthorization needs the session chain')
  const dead = checkLiveness(chain, now)
  if (dead?.code === 'session_revoked') {
    return { allowed: false, code: dead.code, reason: dead.reason, facts: { sessionId: session.id, revokedSessionId: dead.revokedSessionId } }
  }
  if (dead?.code === 'session_expired') {
    return { allowed: false, code: dead.code, reason: dead.reason, facts: { sessionId: session.id, expiresAt: new Date(dead.expiresAt).toISOString() } }
  }
  if (scope !== null && !scopesAllow(session.scopes, scope)) {
    return {
      allowed: false,
      code: 'permission_denied',
      reason: `scope '${scope}' not granted (session has: ${session.scopes.join(', ') || 'none'})`,
      facts: { sessionId: session.id, scope },
    }
  }
  if (mode === 'check') return { allowed: true }
  // Controls only where some level has them: the common chain pays one null check per level.
  for (let index = 0; index < chain.length; index++) {
    if ((chain[index] as { record: SessionRecord }).record.controls === null) continue
    const failure = checkControls(chain as never, { tool: options.tool ?? '', scope, amountMicros, now })
    if (failure) return { allowed: false, code: failure.code, reason: failure.reason, facts: failure.facts }
    break
  }
  const over = checkBudget(chain, amountMicros)
  if (over) {
    return {
      allowed: false,
      code: over.code,
      reason: over.reason,
      facts: {
        limit: 'limit',
        sessionId: session.id,
        limitingSessionId: over.limitingSessionId,
        requestedUsd: microsToUsd(over.requestedMicros),
        limitUsd: microsToUsd(over.limitMicros),
        spentUsd: microsToUsd(over.spentMicros),
        reservedUsd: microsToUsd(over.reservedMicros),
      },
    }
  }
  return { allowed: true }
}
