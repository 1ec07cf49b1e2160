import type { AuditEntry } from '../audit/audit-entry.ts'
import type { HaldirBackend } from '../backend/haldir-backend.ts'
import { memoryInternals, type MemoryInternals } from '../memory/memory-store.ts'

/**
 * Direct access to a backend's stored entries, bypassing its API, as an attacker with write
 * access to the store would have. The conformance suite uses it to prove that
 * `verifyAuditTrail` finds every edit, deletion and reorder.
 */
export interface AuditTamper {
  /** Overwrites fields of the entry at `seq` in place. */
  edit(sessionId: string, seq: number, patch: Partial<AuditEntry>): Promise<void>
  /** Deletes the entry at `seq`. */
  remove(sessionId: string, seq: number): Promise<void>
  /** Swaps the stored positions of two entries. */
  swap(sessionId: string, seqA: number, seqB: number): Promise<void>
  /**
   * Rewrites a stored secret's row as someone with database access could: copied into another
   * tenant (`toTenant`), or its required scope changed (`scopeRequired`, `null` clears it).
   */
  rebindSecret(tenant: string, name: string, change: { toTenant?: string; scopeRequired?: string | null }): Promise<void>
  /** Deletes a session's entries after `keep` and points its recorded head at entry `keep`: its own chain then verifies. */
  cutTail(sessionId: string, keep: number): Promise<void>
  /** Deletes a session, its entries and its head, as if it never was. */
  deleteTrail(sessionId: string): Promise<void>
  /** Overwrites a session's stored counters. */
  setCounters(sessionId: string, counters: { spentMicros?: number; reservedMicros?: number }): Promise<void>
}

/** The tamper hooks of a memory backend (also the state behind a server running one). */
export function memoryAuditTamper(backend: HaldirBackend): AuditTamper {
  const internals = (backend as HaldirBackend & { [memoryInternals]?: MemoryInternals })[memoryInternals]
  if (!internals) throw new Error(`backend '${backend.name}' is not a memory backend`)
  const indexOf = (entries: AuditEntry[], seq: number): number => {
    const index = entries.findIndex((entry) => entry.seq === seq)
    if (index < 0) throw new Error(`no entry with seq ${seq}`)
    return index
  }
  return {
    async edit(sessionId, seq, patch) {
      const entries = internals.entriesOf(sessionId)
      const index = indexOf(entries, seq)
      entries[index] = { ...(entries[index] as AuditEntry), ...patch }
    },
    async remove(sessionId, seq) {
      const entries = internals.entriesOf(sessionId)
      entries.splice(indexOf(entries, seq), 1)
    },
    async cutTail(sessionId, keep) {
      const entries = internals.entriesOf(sessionId)
      const last = entries[keep - 1] as AuditEntry
      entries.length = keep
      const state = internals.stateOf(sessionId)
      state.head.seq = last.seq
      state.head.hash = last.hash
    },
    async deleteTrail(sessionId) {
      internals.forget(sessionId)
    },
    async setCounters(sessionId, counters) {
      const state = internals.stateOf(sessionId)
      if (counters.spentMicros !== undefined) state.spentMicros = counters.spentMicros
      if (counters.reservedMicros !== undefined) state.reservedMicros = counters.reservedMicros
    },
    async rebindSecret(tenant, name, change) {
      const secret = internals.secret(tenant, name)
      if (!secret) throw new Error(`no secret ${name}`)
      const rewritten = change.scopeRequired === undefined ? secret : { ...secret, scopeRequired: change.scopeRequired }
      internals.setSecret(change.toTenant ?? tenant, rewritten)
    },
    async swap(sessionId, seqA, seqB) {
      const entries = internals.entriesOf(sessionId)
      const a = indexOf(entries, seqA)
      const b = indexOf(entries, seqB)
      const first = entries[a] as AuditEntry
      entries[a] = entries[b] as AuditEntry
      entries[b] = first
    },
  }
}
