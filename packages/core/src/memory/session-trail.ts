import type { AuditEntry, AuditOutcome } from '../audit/audit-entry.ts'
import { keysInOrder } from '../audit/canonical-json.ts'
import type { EntryBytes } from './entry-bytes.ts'

/** The filters of an audit query, as a trail applies them. */
export interface EntryFilter {
  agentId: string | null
  outcome: AuditOutcome | null
  flagged: boolean | null
}

/**
 * One session's trail in the memory store, kept compact once sealed.
 *
 * A sealed entry is kept as the canonical body its HMAC was computed over, with its hash and id,
 * as bytes ({@link EntryBytes}), and parsed again when read; the trail holds a number for it. As
 * an object it was about ten heap objects (the entry, its details and ledger mark, boxed numbers,
 * its timestamp). A long-lived client keeps every entry it wrote, and a major collection marks
 * all of them: with objects, the marking steps landed in governed calls, and a loop's p99 doubled
 * in the rounds where one ran.
 *
 * Reading hands out fresh objects, so no caller can change a stored entry through what it was
 * given; what is read is byte for byte what was sealed. The canonical body lists keys sorted: where
 * the caller's details had another order, their JSON in that order is kept too, and read instead.
 *
 * An entry is kept as the object itself until its seal (the store seals before any read), and
 * after it where the seal reported no body to keep.
 */
export class SessionTrail {
  readonly agentId: string
  readonly #bytes: EntryBytes
  // Entry `index` of the session as stored: its number in the store's bytes once sealed, the entry itself until then.
  readonly #items: (number | AuditEntry)[] = []
  // Outcome and flag of each entry (an outcome's code, plus 4 when flagged): an audit query filters without parsing.
  readonly #marks: number[] = []
  // The details' JSON in the caller's key order, for the few entries whose canonical body sorts them.
  #detailsInOrder: Map<number, string> | null = null
  // The session's entries as the tamper hook left them, once it reached in: the session reads these.
  #edited: AuditEntry[] | null = null

  constructor(agentId: string, bytes: EntryBytes) {
    this.agentId = agentId
    this.#bytes = bytes
  }

  /** How many entries the session reads. */
  get length(): number {
    return this.#edited === null ? this.#items.length : this.#edited.length
  }

  /** Stores a new entry (sealed, or to be sealed in place and then {@link sealed}); returns where it is. */
  add(entry: AuditEntry): number {
    this.#items.push(entry)
    this.#marks.push(markOf(entry.outcome, entry.flagged))
    this.#edited?.push(entry)
    return this.#items.length - 1
  }

  /**
   * Entry `index` was sealed in place over `body` (its canonical body): from now on it is kept as
   * that. Without a body, or with a hash other than 64 hex characters, it stays the object.
   */
  sealed(index: number, entry: AuditEntry, body: string | undefined): void {
    if (this.#items[index] !== entry || !body || entry.hash.length !== 64) return
    if (!keysInOrder(entry.details)) (this.#detailsInOrder ??= new Map()).set(index, JSON.stringify(entry.details))
    this.#items[index] = this.#bytes.add(body, entry.hash, entry.id)
  }

  /** Stored entry `index`, as sealed. */
  storedAt(index: number): AuditEntry {
    const item = this.#items[index] as number | AuditEntry
    if (typeof item !== 'number') return item
    const entry = JSON.parse(this.#bytes.body(item)) as AuditEntry
    entry.hash = this.#bytes.hash(item)
    const details = this.#detailsInOrder?.get(index)
    if (details !== undefined) entry.details = JSON.parse(details) as Record<string, unknown>
    return entry
  }

  storedIdAt(index: number): string {
    const item = this.#items[index] as number | AuditEntry
    return typeof item === 'number' ? this.#bytes.id(item) : item.id
  }

  /** Whether stored entry `index` passes `filter`. */
  storedMatches(index: number, filter: EntryFilter): boolean {
    const mark = this.#marks[index] as number
    return (
      (filter.agentId === null || filter.agentId === this.agentId) &&
      (filter.outcome === null || (mark & 3) === OUTCOME_CODES[filter.outcome]) &&
      (filter.flagged === null || ((mark & 4) !== 0) === filter.flagged)
    )
  }

  /** Entry `index` as the session reads it. */
  at(index: number): AuditEntry {
    return this.#edited === null ? this.storedAt(index) : (this.#edited[index] as AuditEntry)
  }

  /** Whether entry `index`, as the session reads it, passes `filter`. */
  matches(index: number, filter: EntryFilter): boolean {
    if (this.#edited === null) return this.storedMatches(index, filter)
    const entry = this.#edited[index] as AuditEntry
    return (filter.agentId === null || entry.agentId === filter.agentId) && (filter.outcome === null || entry.outcome === filter.outcome) && (filter.flagged === null || entry.flagged === filter.flagged)
  }

  /** Every entry as the session reads it, in fresh objects (an edited trail's are its own). */
  entries(): AuditEntry[] {
    if (this.#edited !== null) return this.#edited.slice()
    const out: AuditEntry[] = new Array(this.#items.length)
    for (let index = 0; index < out.length; index++) out[index] = this.storedAt(index)
    return out
  }

  /**
   * Stored entry `index` where the session still has it (the same id), as the session reads it;
   * `null` once the tamper hook removed it.
   */
  find(index: number): AuditEntry | null {
    if (this.#edited === null) return this.storedAt(index)
    const id = this.storedIdAt(index)
    return this.#edited.find((entry) => entry.id === id) ?? null
  }

  /** The session is gone, as if its rows were deleted: it reads no entry (the tenant's trail keeps its positions). */
  forget(): void {
    this.#edited = []
  }

  /**
   * The session's entries as objects the caller may change, remove and reorder: from now on the
   * session reads them (and new entries join them). For the tamper hook only.
   */
  edit(): AuditEntry[] {
    this.#edited ??= this.entries()
    return this.#edited
  }
}

const OUTCOME_CODES: Readonly<Record<AuditOutcome, number>> = { ok: 0, denied: 1, error: 2 }

function markOf(outcome: AuditOutcome, flagged: boolean): number {
  return (OUTCOME_CODES[outcome] ?? 3) | (flagged ? 4 : 0)
}
