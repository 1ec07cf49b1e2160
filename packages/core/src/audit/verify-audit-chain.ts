import { GENESIS_HASH, type AuditEntry, type AuditHead } from './audit-entry.ts'
import { hashAuditEntry } from './hash-audit-entry.ts'

export type AuditVerification =
  | { ok: true; count: number }
  | {
      ok: false
      count: number
      /** The `seq` at which the chain stops being trustworthy (the first bad position). */
      brokenAt: number
      reason: 'hash_mismatch' | 'sequence_gap' | 'broken_link' | 'truncated' | 'foreign_entry' | 'unknown_key' | 'balance_mismatch'
      message: string
    }

/**
 * Walks a session's entries in stored order and recomputes every link. An edited entry fails its
 * HMAC, a deleted one leaves a gap in `seq` and a broken `prevHash`, a reorder breaks both, and
 * a cut tail is caught against the session's recorded head.
 */
export function verifyAuditChain(options: {
  /** Every key that may have sealed an entry, by id (the active one and those rotated out). */
  auditKeys: ReadonlyMap<string, Uint8Array>
  sessionId: string
  entries: readonly AuditEntry[]
  head?: AuditHead
}): AuditVerification {
  const { auditKeys, sessionId, entries, head } = options
  let previousHash = GENESIS_HASH
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index] as AuditEntry
    const position = index + 1
    const fail = (reason: Exclude<AuditVerification, { ok: true }>['reason'], message: string): AuditVerification => ({
      ok: false,
      count: entries.length,
      brokenAt: position,
      reason,
      message,
    })
    if (entry.sessionId !== sessionId) return fail('foreign_entry', `entry ${position} belongs to session ${entry.sessionId}`)
    if (entry.seq !== position) return fail('sequence_gap', `expected seq ${position}, found ${entry.seq}`)
    if (entry.prevHash !== previousHash) return fail('broken_link', `entry ${position} does not link to entry ${position - 1}`)
    const { hash, ...body } = entry
    if (!sealedBy(auditKeys, body, hash)) {
      if (entry.keyId && !auditKeys.has(entry.keyId)) return fail('unknown_key', `entry ${position} was sealed with audit key ${entry.keyId}, which is not configured`)
      return fail('hash_mismatch', `entry ${position} was altered after it was written`)
    }
    previousHash = hash
  }
  if (head && (head.seq !== entries.length || head.hash !== previousHash)) {
    return {
      ok: false,
      count: entries.length,
      brokenAt: Math.min(entries.length, head.seq) + 1,
      reason: 'truncated',
      message: `the trail ends at seq ${entries.length} but the session recorded ${head.seq} entries`,
    }
  }
  return { ok: true, count: entries.length }
}

/** Whether `hash` seals `body` under the key the entry names (any configured key for an entry from before key ids). */
function sealedBy(auditKeys: ReadonlyMap<string, Uint8Array>, body: Omit<AuditEntry, 'hash'>, hash: string): boolean {
  if (body.keyId) {
    const key = auditKeys.get(body.keyId)
    return key !== undefined && hashAuditEntry(key, body) === hash
  }
  for (const key of auditKeys.values()) if (hashAuditEntry(key, body) === hash) return true
  return false
}
