import { BackendError, HaldirError, type HaldirErrorCode } from '@haldir/core'
import type { FailureLog } from './failure-log.ts'
import { HttpRefusal } from './http-refusal.ts'

export const statusByCode: Readonly<Record<HaldirErrorCode, number>> = {
  validation_error: 400,
  unauthorized: 401,
  budget_exceeded: 402,
  permission_denied: 403,
  session_expired: 403,
  session_revoked: 403,
  not_found: 404,
  payload_too_large: 413,
  backend_error: 503,
  idempotency_conflict: 409,
  idempotency_replayed: 409,
  hold_expired: 410,
  // Stored data that does not check out is a server-side fault, not the caller's.
  integrity_error: 500,
  quota_exceeded: 507,
  forbidden: 403,
  rate_limit_exceeded: 429,
  upstream_error: 502,
  upstream_timeout: 504,
  // Settling money that still waits for a person: not now, maybe later.
  approval_pending: 409,
  approval_denied: 403,
  approval_decided: 409,
  approval_used: 409,
  approval_mismatch: 409,
  rate_limited: 429,
  call_cap_reached: 403,
  outside_hours: 403,
}

export interface ErrorBody {
  error: { code: string; message: string; data?: Record<string, unknown> }
}

/**
 * The status, `{ error: { code, message, data } }` body and headers for anything a handler
 * threw. Typed errors keep their code and fields (the client rebuilds the same class). A
 * backend failure is a 503 whose body says only that (its message names hosts, ports, SQL …:
 * the details go to the server log, once per burst); anything else is a 500, details logged.
 */
export function errorResponse(error: unknown, failures: FailureLog, requestId?: string): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (error instanceof HttpRefusal) {
    return { status: error.status, body: { error: { code: error.code, message: error.message, data: error.data } }, headers: error.headers }
  }
  if (HaldirError.isInstance(error)) {
    if (BackendError.isInstance(error) && error.code === 'backend_error') {
      if (error.status === 501) return { status: 501, body: { error: { code: 'not_implemented', message: error.message, data: {} } }, headers: {} }
      failures.backend(error, requestId)
      const message = `The backend is unavailable; try again later${requestId ? ` (request ${requestId})` : ''}`
      return { status: 503, body: { error: { code: 'backend_error', message, data: {} } }, headers: { 'Retry-After': '1' } }
    }
    const json = error.toJSON()
    return { status: statusByCode[json.code] ?? 500, body: { error: json }, headers: {} }
  }
  failures.unexpected(error, requestId)
  return { status: 500, body: { error: { code: 'internal_error', message: `Internal server error${requestId ? ` (request ${requestId})` : ''}`, data: {} } }, headers: {} }
}
