/**
 * A refusal in upstream Haldir's own words: a status and the body its clients read (they take
 * `error`, then `reason`, as the message, and choose the error class from the status alone).
 * Upstream has no single envelope (`HALDIR-API.md` §1.2): a plain `{ error }`, a coded
 * `{ error, code, request_id, … }`, a validation `{ error, code: 'invalid_request', field,
 * reason, request_id }`, a key-scope refusal, a payment refusal `{ authorized: false, reason }`.
 * A coded body gets the request's id when it is answered (`requestId: true`).
 */
export class HaldirApiError extends Error {
  readonly status: number
  readonly body: Record<string, unknown>
  /** Add `request_id` to the body when answering. */
  readonly requestId: boolean
  readonly headers: Record<string, string>

  constructor({ status, body, requestId = false, headers = {} }: { status: number; body: Record<string, unknown>; requestId?: boolean; headers?: Record<string, string> }) {
    super(typeof body.error === 'string' ? body.error : typeof body.reason === 'string' ? body.reason : `Haldir API refusal ${status}`)
    this.name = 'HaldirApiError'
    this.status = status
    this.body = body
    this.requestId = requestId
    this.headers = headers
  }
}

/** Shape A: `{ error }`, as most upstream handlers answer. */
export function plainError(status: number, message: string): HaldirApiError {
  return new HaldirApiError({ status, body: { error: message } })
}

/** Shape B: `{ error, code, request_id, …extra }`. */
export function codedError(status: number, code: string, message: string, extra: Record<string, unknown> = {}): HaldirApiError {
  return new HaldirApiError({ status, body: { error: message, code, ...extra }, requestId: true })
}

/** Shape C: `Invalid request body: <field> — <reason>`, 400 `invalid_request`. */
export function invalidRequest(field: string, reason: string): HaldirApiError {
  return new HaldirApiError({ status: 400, body: { error: `Invalid request body: ${field} — ${reason}`, code: 'invalid_request', field, reason }, requestId: true })
}

/** Shape D: the API key's scopes do not cover the route's. */
export function insufficientScope(required: string, granted: readonly string[]): HaldirApiError {
  return new HaldirApiError({ status: 403, body: { error: `key lacks required scope '${required}'`, code: 'insufficient_scope', required, granted: [...granted] }, requestId: true })
}

/** Shape E: a payment refused (budget or scope), 403. */
export function paymentRefusal(reason: string): HaldirApiError {
  return new HaldirApiError({ status: 403, body: { authorized: false, reason } })
}

/** What upstream answers for a session that is unknown, expired, revoked or another tenant's (it looks missing). */
export const INVALID_SESSION = 'Invalid or expired session'
