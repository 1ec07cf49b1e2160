import type { AuditEntry } from '../audit/audit-entry.ts'
import type { EntryFilter, SessionTrail } from './session-trail.ts'

/**
 * A tenant's entries in the order they were stored, across its sessions: position `p` is the
 * ledger's leaf `p`. Each position points at where its session keeps the entry (two array slots,
 * no object of its own), and reads it as stored: what the tamper hook does to a session's trail
 * shows where that session is read, not here.
 */
export class TenantTrail {
  readonly #trails: SessionTrail[] = []
  readonly #indexes: number[] = []

  get length(): number {
    return this.#trails.length
  }

  add(trail: SessionTrail, index: number): void {
    this.#trails.push(trail)
    this.#indexes.push(index)
  }

  /** The entry at `position`, as stored. */
  at(position: number): AuditEntry {
    return (this.#trails[position] as SessionTrail).storedAt(this.#indexes[position] as number)
  }

  idAt(position: number): string {
    return (this.#trails[position] as SessionTrail).storedIdAt(this.#indexes[position] as number)
  }

  matches(position: number, filter: EntryFilter): boolean {
    return (this.#trails[position] as SessionTrail).storedMatches(this.#indexes[position] as number, filter)
  }

  /** The entry at `position` where its session still has it, as the session reads it (`null`: removed there). */
  find(position: number): AuditEntry | null {
    return (this.#trails[position] as SessionTrail).find(this.#indexes[position] as number)
  }
}
