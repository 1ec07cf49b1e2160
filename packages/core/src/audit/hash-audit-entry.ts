import { hmacAndLeafHex, hmacSha256Hex } from '#crypto'
import type { AuditEntry, AuditEntryInput, AuditHead } from './audit-entry.ts'
import { canonicalJson } from './canonical-json.ts'
import { jsonString } from './json-string.ts'

/** Computes an entry's HMAC over its previous hash and its canonical body (everything but `hash`) with `auditKey`. */
export function hashAuditEntry(auditKey: Uint8Array, entry: Omit<AuditEntry, 'hash'>): string {
  return hmacSha256Hex(auditKey, entry.prevHash, canonicalEntryBody(entry))
}

/**
 * `canonicalJson(entry)` for the fixed fields of an entry, written out in sorted key order: the
 * same bytes, without sorting keys on the hot path (a test holds the two equal).
 */
export function canonicalEntryBody(entry: Omit<AuditEntry, 'hash'>): string {
  const text = jsonString
  const orNull = (value: string | null) => (value === null ? 'null' : jsonString(value))
  return (
    `{"action":${text(entry.action)},"agentId":${text(entry.agentId)},"costUsd":${canonicalJson(entry.costUsd)},"details":${canonicalJson(entry.details)}` +
    // Entries sealed before keys had ids carry none; their body is unchanged.
    `,"flagged":${entry.flagged},"id":${text(entry.id)}${entry.keyId ? `,"keyId":${text(entry.keyId)}` : ''}${entry.ledger ? `,"ledger":${canonicalJson(entry.ledger)}` : ''}` +
    `,"outcome":${text(entry.outcome)},"prevHash":${text(entry.prevHash)}` +
    `,"reason":${orNull(entry.reason)},"scope":${orNull(entry.scope)},"seq":${canonicalJson(entry.seq)},"sessionId":${text(entry.sessionId)}` +
    `,"timestamp":${text(entry.timestamp)},"tool":${text(entry.tool)}}`
  )
}

/** What sealing also reports: the stored size of the entries, and (when the ledger is on) their leaf hashes. */
export interface SealOutputs {
  bytes: number
  /** `null`: no ledger, no leaf hashes. */
  leaves: string[] | null
  /** The canonical body of the entry sealed last (what its HMAC covers), where a store keeps entries as that. */
  body?: string
  /** Details (this very object) whose `JSON.stringify` length is `measuredLength`: an entry recording them is sized without serialising them. */
  measuredDetails?: object | null
  measuredLength?: number
}

/** The key that seals new entries, with the id each entry records. */
export interface SealingKey {
  id: string
  key: Uint8Array
}

/**
 * Links a new entry to the chain's head and seals it with the active audit key, completing
 * `input` in place (it is a fresh object on every path, and copying it twice per call was
 * measurable). The caller stores it and advances the head.
 */
export function sealAuditEntry(sealing: SealingKey, head: AuditHead, input: AuditEntryInput & { id: string }, outputs?: SealOutputs): AuditEntry {
  const entry = input as AuditEntry
  entry.keyId = sealing.id
  entry.seq = head.seq + 1
  entry.prevHash = head.hash
  const body = canonicalEntryBody(entry)
  // The canonical body is about what the entry takes to store, and it is the ledger's leaf: both
  // come from the string already built for the HMAC (the leaf from the same encoding of it).
  if (outputs) {
    outputs.bytes += body.length + 64
    outputs.body = body
  }
  const leaves = outputs?.leaves
  if (leaves) {
    const [hmac, leaf] = hmacAndLeafHex(sealing.key, entry.prevHash, body)
    leaves.push(leaf)
    entry.hash = hmac
  } else entry.hash = hmacSha256Hex(sealing.key, entry.prevHash, body)
  return entry
}

/** Where a seal is still owed: `prevHash` and `hash` of an entry prepared to be sealed later. */
export const UNSEALED = ''

/**
 * Places a new entry in its chain (`keyId`, `seq`) without sealing it: `prevHash` and `hash` stay
 * {@link UNSEALED} until the store seals its entries in order (`sealAuditEntry`), before anyone
 * reads them. Reports about what the entry takes to store: its JSON without the canonical key
 * order, which has the same length.
 */
export function prepareAuditEntry(keyId: string, head: AuditHead, input: AuditEntryInput & { id: string }, outputs: SealOutputs): AuditEntry {
  // The same properties in the same order as `sealAuditEntry` writes them: one object shape either way.
  const entry = input as AuditEntry
  entry.keyId = keyId
  entry.seq = head.seq + 1
  entry.prevHash = UNSEALED
  entry.hash = UNSEALED
  const detailsLength = outputs.measuredDetails === entry.details ? (outputs.measuredLength as number) : JSON.stringify(entry.details).length
  outputs.bytes += ENTRY_FIELDS_BYTES + detailsLength + (entry.reason === null ? 0 : entry.reason.length) + entry.tool.length + entry.action.length + entry.agentId.length + (entry.scope === null ? 0 : entry.scope.length)
  return entry
}

// Field names, ids, hashes, the timestamp and the ledger mark of a canonical body, with the 64 of its hash.
const ENTRY_FIELDS_BYTES = 460
