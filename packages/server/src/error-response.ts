import { HaldirError, type HaldirErrorCode } from '@haldir/core'

const statusByCode: Record<HaldirErrorCode, number> = {
  validation_error: 400,
  unauthorized: 401,
  budget_exceeded: 402,
  permission_denied: 403,
  session_expired: 403,
  session_revoked: 403,
  not_found: 404,
  payload_too_large: 413,
  backend_error: 503,
  upstream_error: 502,
  upstream_timeout: 504,
}

export interface ErrorBody {
  error: { code: string; message: string; data?: Record<string, unknown> }
}

/**
 * The status and `{ error: { code, message, data } }` body for anything a handler threw.
 * Typed errors keep their code and fields (the client rebuilds the same class); anything else
 * is a 500 whose details stay in the server log.
 */
export function errorResponse(error: unknown, log: (message: string, error: unknown) => void = console.error): { status: number; body: ErrorBody } {
  if (HaldirError.isInstance(error)) {
    const json = error.toJSON()
    if (json.code === 'backend_error') log('haldir server: backend failure', error)
    return { status: statusByCode[json.code] ?? 500, body: { error: json } }
  }
  log('haldir server: unexpected error', error)
  return { status: 500, body: { error: { code: 'internal_error', message: 'Internal server error' } } }
}
