/**
 * A refusal the HTTP layer makes on its own (a body too large or too slow, too many requests):
 * a status, a wire code and headers, answered as `{ error: { code, message, data } }`. Core's
 * typed errors cover everything that reaches the backend.
 */
export class HttpRefusal extends Error {
  readonly status: number
  readonly code: string
  readonly data: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor({ status, code, message, data = {}, headers = {} }: { status: number; code: string; message: string; data?: Record<string, unknown>; headers?: Record<string, string> }) {
    super(message)
    this.name = 'HttpRefusal'
    this.status = status
    this.code = code
    this.data = data
    this.headers = headers
  }
}
