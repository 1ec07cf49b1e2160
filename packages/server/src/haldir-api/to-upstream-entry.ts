import type { AuditEntry } from '@haldir/core'
import { GENESIS_HASH } from '@haldir/core/backend'

/** An audit entry as upstream's `GET /v1/audit` lists it (`HALDIR-API.md` §7.2), plus our `outcome` and `seq`. */
export interface UpstreamAuditEntry {
  entry_id: string
  session_id: string
  agent_id: string
  action: string
  tool: string
  /** Exact (micro-dollars), never rounded to cents. */
  cost_usd: number
  flagged: boolean
  /** `''` when not flagged, never `null`. */
  flag_reason: string
  /** Epoch seconds, with the milliseconds as a fraction. */
  timestamp: number
  details: Record<string, unknown>
  /** `''` for the first entry of a chain. Chains are per session here (upstream: per tenant). */
  prev_hash: string
  entry_hash: string
  outcome: AuditEntry['outcome']
  /** The entry's place in its session's chain, from 1. */
  seq: number
}

/** Epoch seconds (with a fraction) of an ISO 8601 time: upstream's time format. */
export function epochSeconds(iso: string): number {
  return Date.parse(iso) / 1000
}

export function toUpstreamEntry(entry: AuditEntry): UpstreamAuditEntry {
  return {
    entry_id: entry.id,
    session_id: entry.sessionId,
    agent_id: entry.agentId,
    action: entry.action,
    tool: entry.tool,
    cost_usd: entry.costUsd,
    flagged: entry.flagged,
    flag_reason: entry.flagged ? (entry.reason ?? '') : '',
    timestamp: epochSeconds(entry.timestamp),
    details: entry.details,
    prev_hash: entry.prevHash === GENESIS_HASH ? '' : entry.prevHash,
    entry_hash: entry.hash,
    outcome: entry.outcome,
    seq: entry.seq,
  }
}
