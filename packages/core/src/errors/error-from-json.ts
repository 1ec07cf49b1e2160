import { ApprovalDeniedError } from './approval-denied-error.ts'
import { ApprovalError, type ApprovalErrorCode } from './approval-error.ts'
import { ApprovalPendingError } from './approval-pending-error.ts'
import { BackendError } from './backend-error.ts'
import { CallCapError } from './call-cap-error.ts'
import { OutsideHoursError } from './outside-hours-error.ts'
import { RateLimitedError } from './rate-limited-error.ts'
import { BudgetExceededError } from './budget-exceeded-error.ts'
import { ForbiddenError } from './forbidden-error.ts'
import { HaldirError, type HaldirErrorCode } from './haldir-error.ts'
import { HoldExpiredError } from './hold-expired-error.ts'
import { IdempotencyError } from './idempotency-error.ts'
import { IntegrityError } from './integrity-error.ts'
import { QuotaExceededError } from './quota-exceeded-error.ts'
import { NotFoundError, type HaldirResource } from './not-found-error.ts'
import { PermissionDeniedError } from './permission-denied-error.ts'
import { SessionExpiredError } from './session-expired-error.ts'
import { SessionRevokedError } from './session-revoked-error.ts'
import { ValidationError, type ValidationIssue } from './validation-error.ts'

export interface HaldirErrorJson {
  code: string
  message: string
  data?: Record<string, unknown>
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
const amount = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined)

/**
 * Rebuilds the typed error from its wire shape (`HaldirError#toJSON`), so a client of the
 * HTTP backend catches the same subclasses as a user of the memory backend.
 */
export function errorFromJson(json: HaldirErrorJson, status?: number): HaldirError {
  const data = json.data ?? {}
  const message = json.message
  switch (json.code as HaldirErrorCode) {
    case 'validation_error':
      return new ValidationError({ message, issues: Array.isArray(data.issues) ? (data.issues as ValidationIssue[]) : [] })
    case 'permission_denied':
      return new PermissionDeniedError({ message, sessionId: text(data.sessionId), scope: text(data.scope) })
    case 'budget_exceeded':
      return new BudgetExceededError({
        message,
        sessionId: text(data.sessionId),
        limitingSessionId: text(data.limitingSessionId),
        requestedUsd: amount(data.requestedUsd),
        limitUsd: amount(data.limitUsd),
        spentUsd: amount(data.spentUsd),
        reservedUsd: amount(data.reservedUsd),
        window: text(data.window),
        windowDescription: text(data.windowDescription),
        resetsAt: text(data.resetsAt),
        retryAfterSeconds: amount(data.retryAfterSeconds),
      })
    case 'session_expired':
      return new SessionExpiredError({ message, sessionId: text(data.sessionId), expiresAt: text(data.expiresAt) })
    case 'session_revoked':
      return new SessionRevokedError({ message, sessionId: text(data.sessionId), revokedSessionId: text(data.revokedSessionId) })
    case 'not_found':
      return new NotFoundError({ message, resource: (text(data.resource) ?? 'route') as HaldirResource, id: text(data.id) ?? '' })
    case 'idempotency_conflict':
    case 'idempotency_replayed':
      return new IdempotencyError({ code: json.code as 'idempotency_conflict' | 'idempotency_replayed', idempotencyKey: text(data.idempotencyKey) ?? '', message, data })
    case 'hold_expired':
      return new HoldExpiredError({ holdId: text(data.holdId) ?? '', expiresAt: text(data.expiresAt), message })
    case 'integrity_error':
      return new IntegrityError({ message, data })
    case 'quota_exceeded':
      return new QuotaExceededError({ message, data })
    case 'forbidden':
      return new ForbiddenError({
        message,
        role: text(data.role),
        operation: text(data.operation),
        allowedRoles: Array.isArray(data.allowedRoles) ? data.allowedRoles.filter((role): role is string => typeof role === 'string') : [],
      })
    case 'approval_pending':
      return new ApprovalPendingError({ message, approvalId: text(data.approvalId) ?? '', holdId: text(data.holdId), expiresAt: text(data.expiresAt), sessionId: text(data.sessionId) })
    case 'approval_denied':
      return new ApprovalDeniedError({
        message,
        approvalId: text(data.approvalId) ?? '',
        status: data.status === 'denied' ? 'denied' : 'expired',
        decidedBy: text(data.decidedBy),
        note: text(data.note),
        sessionId: text(data.sessionId),
      })
    case 'approval_decided':
    case 'approval_used':
    case 'approval_mismatch':
      return new ApprovalError({ code: json.code as ApprovalErrorCode, approvalId: text(data.approvalId) ?? '', message, data })
    case 'rate_limited':
      return new RateLimitedError({ message, sessionId: text(data.sessionId), limitingSessionId: text(data.limitingSessionId), limit: text(data.limit), retryAfterSeconds: amount(data.retryAfterSeconds) ?? 1 })
    case 'call_cap_reached':
      return new CallCapError({ message, sessionId: text(data.sessionId), limitingSessionId: text(data.limitingSessionId), tool: text(data.tool), max: amount(data.max) })
    case 'outside_hours':
      return new OutsideHoursError({ message, sessionId: text(data.sessionId), limitingSessionId: text(data.limitingSessionId), retryAfterSeconds: amount(data.retryAfterSeconds) ?? 60 })
    case 'unauthorized':
    case 'payload_too_large':
    case 'rate_limit_exceeded':
      return new BackendError({ message, status, code: json.code as HaldirErrorCode })
    default:
      return new BackendError({ message, status: status ?? amount(data.status) })
  }
}
