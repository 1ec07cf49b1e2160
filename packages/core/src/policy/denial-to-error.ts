import type { DenialCode } from '../backend/haldir-backend.ts'
import { ApprovalDeniedError } from '../errors/approval-denied-error.ts'
import { BudgetExceededError } from '../errors/budget-exceeded-error.ts'
import { CallCapError } from '../errors/call-cap-error.ts'
import { OutsideHoursError } from '../errors/outside-hours-error.ts'
import { RateLimitedError } from '../errors/rate-limited-error.ts'
import type { HaldirPermissionError } from '../errors/haldir-permission-error.ts'
import { PermissionDeniedError } from '../errors/permission-denied-error.ts'
import { SessionExpiredError } from '../errors/session-expired-error.ts'
import { SessionRevokedError } from '../errors/session-revoked-error.ts'

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
const amount = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined)

/** The typed error for a gate refusal, with the refusal's facts as fields. */
export function denialToError(denial: { code: DenialCode; reason: string; facts: Record<string, unknown> }, sessionId: string): HaldirPermissionError {
  const { facts } = denial
  const message = denial.reason.charAt(0).toUpperCase() + denial.reason.slice(1)
  switch (denial.code) {
    case 'permission_denied':
      return new PermissionDeniedError({ sessionId, scope: text(facts.scope), message })
    case 'budget_exceeded':
      return new BudgetExceededError({
        message,
        sessionId,
        limitingSessionId: text(facts.limitingSessionId),
        requestedUsd: amount(facts.requestedUsd),
        limitUsd: amount(facts.limitUsd),
        spentUsd: amount(facts.spentUsd),
        reservedUsd: amount(facts.reservedUsd),
        ...(text(facts.window) === undefined
          ? {}
          : { window: text(facts.limit), windowDescription: text(facts.window), resetsAt: text(facts.resetsAt), retryAfterSeconds: amount(facts.retryAfterSeconds) }),
      })
    case 'session_expired':
      return new SessionExpiredError({ sessionId, expiresAt: text(facts.expiresAt), message })
    case 'session_revoked':
      return new SessionRevokedError({ sessionId, revokedSessionId: text(facts.revokedSessionId), message })
    case 'approval_denied':
      return new ApprovalDeniedError({
        sessionId,
        approvalId: text(facts.approvalId) ?? '',
        status: facts.status === 'denied' ? 'denied' : 'expired',
        decidedBy: text(facts.decidedBy),
        note: text(facts.note),
        message,
      })
    case 'rate_limited':
      return new RateLimitedError({ sessionId, limitingSessionId: text(facts.limitingSessionId), limit: text(facts.limit), retryAfterSeconds: amount(facts.retryAfterSeconds) ?? 1, message })
    case 'call_cap_reached':
      return new CallCapError({ sessionId, limitingSessionId: text(facts.limitingSessionId), tool: text(facts.tool), max: amount(facts.max), message })
    case 'outside_hours':
      return new OutsideHoursError({ sessionId, limitingSessionId: text(facts.limitingSessionId), retryAfterSeconds: amount(facts.retryAfterSeconds) ?? 60, message })
  }
}
