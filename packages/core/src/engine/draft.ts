import type { AuditEntry, AuditEntryInput, AuditHead } from '../audit/audit-entry.ts'
import type { AuditEvent } from '../audit/audit-events.ts'
import type { IdPrefix } from '../internal/new-id.ts'
import type { Changes, CounterChange, Decision, HoldRecord, IdempotencyRecord, SessionState } from './state-store.ts'

/** What plans may use besides the loaded state: fresh ids and the audit seal. */
export interface Sealer {
  newId(prefix: IdPrefix): string
  /** Links an entry to `head` and seals it (the engine's audit key). */
  seal(head: AuditHead, input: AuditEntryInput & { id: string }): AuditEntry
}

// Most operations touch few kinds of change: arrays are made on first use, not per call.
const NONE = Object.freeze([]) as never[]

/**
 * The changes of one operation, as a plan builds them. Nothing here touches stored state: the
 * loaded state is read-only to plans, and the store applies the draft (it *is* the change set)
 * afterwards, atomically. A class, not a closure factory: one allocation per operation on the
 * hot path of every governed call.
 */
export class Draft<T = unknown> implements Changes, Decision<T> {
  readonly tenant: string
  /** Epoch milliseconds of the decision. */
  readonly now: number
  readonly sealer: Sealer
  createdSessions: SessionState[] = NONE as SessionState[]
  counters: CounterChange[] = NONE as CounterChange[]
  revocations: { sessionId: string; revokedAt: number }[] = NONE as never[]
  openedHolds: HoldRecord[] = NONE as HoldRecord[]
  closedHolds: { holdId: string; entryId: string; chargedMicros: number }[] = NONE as never[]
  entries: AuditEntry[] = NONE as AuditEntry[]
  idempotency: IdempotencyRecord | null = null
  /** The operation's answer, or the refusal to report once the changes are applied. */
  value?: T
  error?: Error
  #timestamp: string | undefined

  constructor(tenant: string, now: number, sealer: Sealer) {
    this.tenant = tenant
    this.now = now
    this.sealer = sealer
  }

  /**
   * Records a refusal: the store applies this draft (the refusal's audit entry, say) and then
   * rejects with `error`. Returns a placeholder value so a plan can `return draft.refuse(…)`.
   */
  refuse(error: Error): T {
    this.error = error
    return undefined as T
  }

  /** A draft is its own change set. */
  get changes(): Changes {
    return this
  }

  newId(prefix: IdPrefix): string {
    return this.sealer.newId(prefix)
  }

  /** Seals `event` as the next entry of `session`'s chain (after any appended earlier in this draft). */
  append(session: SessionState, event: AuditEvent): AuditEntry {
    const { record } = session
    let head = session.head
    for (let index = this.entries.length - 1; index >= 0; index--) {
      const earlier = this.entries[index] as AuditEntry
      if (earlier.sessionId === record.id) {
        head = { seq: earlier.seq, hash: earlier.hash }
        break
      }
    }
    this.#timestamp ??= new Date(this.now).toISOString()
    const entry = this.sealer.seal(head, { id: this.sealer.newId('aud'), sessionId: record.id, agentId: record.agentId, timestamp: this.#timestamp, ...event })
    if (this.entries === NONE) this.entries = []
    this.entries.push(entry)
    return entry
  }

  /** Adds the same deltas to every session of a chain (a charge counts against each ancestor). */
  move(chain: readonly SessionState[], spentMicros: number, reservedMicros: number, tool: string | null): void {
    if (this.counters === NONE) this.counters = []
    for (const session of chain) this.counters.push({ sessionId: session.record.id, spentMicros, reservedMicros, tool })
  }

  createSession(session: SessionState): void {
    if (this.createdSessions === NONE) this.createdSessions = []
    this.createdSessions.push(session)
  }

  revoke(sessionId: string): void {
    if (this.revocations === NONE) this.revocations = []
    this.revocations.push({ sessionId, revokedAt: this.now })
  }

  openHold(hold: HoldRecord): void {
    if (this.openedHolds === NONE) this.openedHolds = []
    this.openedHolds.push(hold)
  }

  closeHold(holdId: string, entryId: string, chargedMicros: number): void {
    if (this.closedHolds === NONE) this.closedHolds = []
    this.closedHolds.push({ holdId, entryId, chargedMicros })
  }

  remember(record: IdempotencyRecord): void {
    this.idempotency = record
  }
}
