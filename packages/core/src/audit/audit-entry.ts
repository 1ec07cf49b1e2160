/** How a gate decision, payment or other audited event ended. */
export type AuditOutcome = 'ok' | 'denied' | 'error'

/**
 * One link of a session's tamper-evident trail.
 * `hash = HMAC-SHA256(auditKey, prevHash + canonicalJson(entry without hash))`, with the audit
 * key named by `keyId`.
 */
export interface AuditEntry {
  id: string
  /** Which audit key sealed the entry (first 16 hex of its SHA-256), so keys can rotate. */
  keyId: string
  sessionId: string
  agentId: string
  /** 1-based position in the session's chain. */
  seq: number
  /** ISO 8601. */
  timestamp: string
  tool: string
  action: string
  scope: string | null
  outcome: AuditOutcome
  /** Set on every denial and anything a reviewer should look at. */
  flagged: boolean
  reason: string | null
  costUsd: number
  details: Record<string, unknown>
  /** What the entry does to money, when it does anything: balances are re-derived from these marks. */
  ledger?: LedgerMark
  prevHash: string
  hash: string
}

/**
 * An entry's effect on money, so the trail alone re-derives every balance:
 * - `charge`: `costUsd` charged at once (a payment);
 * - `reserve`: `amountUsd` held under `holdId` (a gate);
 * - `settle`: the hold closed, `costUsd` of it charged, the rest released;
 * - `release`: the hold closed, nothing charged (its lease ended, or an operator released it).
 */
export type LedgerMark = { op: 'charge' } | { op: 'reserve'; holdId: string; amountUsd: number } | { op: 'settle' | 'release'; holdId: string }

/** The fields a backend supplies for a new entry; the chain and key fields are computed. */
export type AuditEntryInput = Omit<AuditEntry, 'id' | 'keyId' | 'seq' | 'prevHash' | 'hash'>

/** The end of a session's chain: what the next entry links to. */
export interface AuditHead {
  seq: number
  hash: string
}

/** `prevHash` of the first entry of every chain. */
export const GENESIS_HASH = '0'.repeat(64)
