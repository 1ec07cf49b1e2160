import type { AuditEntry } from '../audit/audit-entry.ts'
import { canonicalEntryBody } from '../audit/hash-audit-entry.ts'
import { leafHash } from './merkle-hash.ts'

/**
 * What a leaf of the log commits to: every field of the entry but its `hash`, as canonical JSON
 * (keys sorted at every depth) — the very bytes its HMAC covers, so the seal computes the leaf
 * without serialising twice. Anyone holding an entry, from the API or an export, recomputes its
 * leaf without a key: the log proves content, not only the HMAC.
 */
export function leafBytesOf(entry: AuditEntry): string {
  return canonicalEntryBody(entry)
}

/** The RFC 6962 leaf hash of an entry. */
export function entryLeafHash(entry: AuditEntry): string {
  return leafHash(leafBytesOf(entry))
}
