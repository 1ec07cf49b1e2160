const marker = 'haldir.error'
const symbol = Symbol.for(marker)

/** The machine-readable codes every {@link HaldirError} carries. */
export type HaldirErrorCode =
  | 'validation_error'
  | 'permission_denied'
  | 'budget_exceeded'
  | 'session_expired'
  | 'session_revoked'
  | 'not_found'
  | 'backend_error'
  | 'unauthorized'
  | 'payload_too_large'
  | 'idempotency_conflict'
  | 'idempotency_replayed'
  | 'hold_expired'
  | 'integrity_error'
  | 'quota_exceeded'
  | 'forbidden'
  | 'rate_limit_exceeded'
  /** An upstream a Haldir adapter forwards to (an MCP server) failed or closed. */
  | 'upstream_error'
  /** An upstream did not answer in time. */
  | 'upstream_timeout'
  /** The call waits for a person; its cost is held. */
  | 'approval_pending'
  /** A person denied the call, or nobody approved it in time. */
  | 'approval_denied'
  | 'approval_decided'
  | 'approval_used'
  | 'approval_mismatch'
  /** A rate limit is full; retry after `retryAfterSeconds`. */
  | 'rate_limited'
  /** A tool's calls for the session are used up. */
  | 'call_cap_reached'
  /** Outside the session's active hours. */
  | 'outside_hours'

export interface HaldirErrorOptions {
  message: string
  code: HaldirErrorCode
  cause?: unknown
  /** Structured fields that travel with the error (and over HTTP). */
  data?: Record<string, unknown>
}

/**
 * Base of every error Haldir throws.
 *
 * Use {@link HaldirError.isInstance} rather than `instanceof` when two copies of the package
 * may be loaded (an adapter bundling its own core): the check relies on a `Symbol.for` marker.
 */
export class HaldirError extends Error {
  private readonly [symbol] = true
  readonly code: HaldirErrorCode
  readonly data: Record<string, unknown>

  constructor({ message, code, cause, data }: HaldirErrorOptions) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'HaldirError'
    this.code = code
    this.data = data ?? {}
  }

  static isInstance(error: unknown): error is HaldirError {
    return HaldirError.hasMarker(error, marker)
  }

  protected static hasMarker(error: unknown, markerName: string): boolean {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[Symbol.for(markerName)] === true
  }

  /** The wire shape: `{ code, message, data }`. */
  toJSON(): { code: HaldirErrorCode; message: string; data: Record<string, unknown> } {
    return { code: this.code, message: this.message, data: this.data }
  }
}
