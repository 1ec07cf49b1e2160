import { BackendError, HaldirError, IdempotencyError, ValidationError } from '@haldir/core'
import type { FailureLog } from '../failure-log.ts'
import { HttpRefusal } from '../http-refusal.ts'
import { statusByCode } from '../error-response.ts'
import { HaldirApiError, invalidRequest } from './haldir-api-error.ts'

/**
 * The status, body and headers the Haldir API answers for anything a handler threw, in
 * upstream's shapes: a `HaldirApiError` as it is (coded ones get `request_id`); a body too large
 * or too slow as upstream's coded 413 (with `max_bytes`) / 408; core's `ValidationError` as a
 * shape-C 400 naming its first field; an idempotency conflict as upstream's 422; a backend
 * failure as a coded 503 that names nothing internal (logged once per burst); any other typed
 * error coded with its own code and status; anything else a coded 500 `internal_error` (logged).
 */
export function haldirApiErrorAnswer(error: unknown, failures: FailureLog, requestId: string): { status: number; body: Record<string, unknown>; headers: Record<string, string> } {
  const coded = (status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => ({
    status,
    body: { error: message, code, request_id: requestId, ...extra },
    headers,
  })
  if (error instanceof HaldirApiError) return { status: error.status, body: error.requestId ? { ...error.body, request_id: requestId } : error.body, headers: error.headers }
  if (error instanceof HttpRefusal) {
    const extra = error.status === 413 ? { max_bytes: error.data.maxBytes } : {}
    return coded(error.status, error.code, error.message, extra, error.headers)
  }
  if (ValidationError.isInstance(error)) {
    const issue = error.issues[0]
    return haldirApiErrorAnswer(invalidRequest(snakeCase(issue?.path || 'body'), issue?.message ?? error.message), failures, requestId)
  }
  if (IdempotencyError.isInstance(error)) {
    return { status: 422, body: { error: `Idempotency-Key '${error.idempotencyKey}' was previously used with a different request body. Use a fresh key or send the identical body.` }, headers: {} }
  }
  if (HaldirError.isInstance(error)) {
    if (BackendError.isInstance(error) && error.code === 'backend_error') {
      if (error.status === 501) return coded(501, 'not_implemented', error.message)
      failures.backend(error, requestId)
      return coded(503, 'backend_unavailable', `The backend is unavailable; try again later (request ${requestId})`, {}, { 'Retry-After': '1' })
    }
    return coded(statusByCode[error.code] ?? 500, error.code, error.message)
  }
  failures.unexpected(error, requestId)
  return coded(500, 'internal_error', `Internal server error (request ${requestId})`)
}

/** Core names fields in camelCase; upstream's clients read snake_case. */
function snakeCase(path: string): string {
  return path.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)
}
