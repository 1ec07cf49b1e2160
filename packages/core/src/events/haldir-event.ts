/**
 * What happened, as listeners see it: one shape for every event, so a UI, a log shipper or a
 * webhook sender handles them all the same way and switches on `type`.
 */
export type HaldirEventType =
  /** A call waits for a person; its money is held. `data`: the approval. */
  | 'approval.requested'
  /** A person (or the timeout, or the session's end) decided. `data`: the approval. */
  | 'approval.decided'
  /** The gate refused a call. `data`: `{ code, reason, tool, scope, requestedUsd }`. */
  | 'call.denied'
  /** A hold's lease ended before it was settled; its money was released. `data`: `{ holdId, tool, releasedUsd }`. */
  | 'hold.expired'
  /** A session was revoked (once per session, descendants included). `data`: `{ revokedBy, reason }`. */
  | 'session.revoked'
  /** Spend crossed an alert threshold of a limit or a budget window (once per window and threshold). `data`: `{ limit, threshold, spentUsd, limitUsd, windowStart? }`. */
  | 'threshold.crossed'
  /** A limit or budget window is spent (or refused a call for lack of money), once per window. `data`: `{ limit, spentUsd, limitUsd, resetsAt? }`. */
  | 'budget.exhausted'
  /** A rate limit or call cap refused a call. `data`: `{ limit, tool, retryAfterSeconds }`. */
  | 'rate.limited'
  /** A verification found a broken audit chain or ledger. `data`: `{ reason, brokenAt, message }`. */
  | 'audit.broken'

export interface HaldirEvent {
  /** Unique per event (`evt_…`): a receiver drops repeats by it. */
  id: string
  type: HaldirEventType
  tenant: string
  /** Epoch milliseconds of the decision that caused it. */
  at: number
  sessionId: string | null
  agentId: string | null
  data: Record<string, unknown>
}

/** Every type, for validation and for subscribing to all. */
export const HALDIR_EVENT_TYPES: readonly HaldirEventType[] = [
  'approval.requested',
  'approval.decided',
  'call.denied',
  'hold.expired',
  'session.revoked',
  'threshold.crossed',
  'budget.exhausted',
  'rate.limited',
  'audit.broken',
]
