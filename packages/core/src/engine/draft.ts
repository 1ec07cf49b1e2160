import type { AuditEntry, AuditEntryInput, AuditHead } from '../audit/audit-entry.ts'
import { isoTime } from '../internal/iso-time.ts'
import { type SealOutputs, UNSEALED } from '../audit/hash-audit-entry.ts'
import type { AuditEvent } from '../audit/audit-events.ts'
import type { IdPrefix } from '../internal/new-id.ts'
import type { ApprovalRuleRecord } from '../backend/haldir-backend.ts'
import type { HaldirEvent, HaldirEventType } from '../events/haldir-event.ts'
import type { Changes, CounterChange, Decision, HoldClosing, HoldRecord, HoldUpdate, IdempotencyRecord, SessionState, StoredSecret } from './state-store.ts'
import type { SecretMask } from './secret-mask.ts'
import { UsageBook } from './usage-book.ts'
import type { SessionUsage } from '../controls/session-usage.ts'

/** What plans may use besides the loaded state: fresh ids and the audit seal. */
export interface Sealer {
  newId(prefix: IdPrefix): string
  /** Links an entry to `head` and seals it (the engine's active audit key), reporting its size and leaf to `outputs`. */
  seal(head: AuditHead, input: AuditEntryInput & { id: string }, outputs: SealOutputs): AuditEntry
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
  /** Every value of the tenant's vault, masked out of details and reasons before sealing. */
  readonly mask: SecretMask | null
  createdSessions: SessionState[] = NONE as SessionState[]
  counters: CounterChange[] = NONE as CounterChange[]
  revocations: { sessionId: string; revokedAt: number }[] = NONE as never[]
  openedHolds: HoldRecord[] = NONE as HoldRecord[]
  closedHolds: ({ holdId: string } & HoldClosing)[] = NONE as never[]
  updatedHolds: HoldUpdate[] = NONE as HoldUpdate[]
  /** What listeners hear once the changes are applied. */
  events: HaldirEvent[] = NONE as HaldirEvent[]
  entries: AuditEntry[] = NONE as AuditEntry[]
  idempotency: IdempotencyRecord | null = null
  secrets: StoredSecret[] = NONE as StoredSecret[]
  /** About how many bytes the appended entries take (their canonical JSON). */
  bytes = 0
  /** The ledger leaf hash of each entry, in order (`null` when the backend keeps no ledger). */
  leaves: string[] | null
  /** The canonical body of the entry sealed last (sealing writes it; declared so every draft has one shape). */
  body = ''
  /** Details whose `JSON.stringify` length is known (`measuredLength`), so an entry recording them is sized without serialising them. */
  measuredDetails: object | null = null
  measuredLength = -1
  /** What the sessions' controls counted (budget windows, rate limits, caps, alerts); made on first use. */
  book: UsageBook | null = null
  /** The operation's answer, or the refusal to report once the changes are applied. */
  value?: T
  /** The answer shows none of this draft's entries: a store that seals later may wait (`Decision.sealLater`). */
  sealLater = false
  error?: Error
  #timestamp: string | undefined

  /** The tenant's approval rules (a session's own are on its record). */
  readonly rules: readonly ApprovalRuleRecord[]

  constructor(tenant: string, now: number, sealer: Sealer, mask: SecretMask | null = null, ledger = true, rules: readonly ApprovalRuleRecord[] = NONE) {
    this.tenant = tenant
    this.now = now
    this.sealer = sealer
    this.mask = mask
    this.leaves = ledger ? [] : null
    this.rules = rules
  }

  /**
   * Records a refusal: the store applies this draft (the refusal's audit entry, say) and then
   * rejects with `error`. Returns a placeholder value so a plan can `return draft.refuse(…)`.
   */
  refuse(error: Error): T {
    this.error = error
    return undefined as T
  }

  /** `details` (this very object) serialises to `jsonLength` characters: the request's details, as its client counted them. */
  measured(details: object, jsonLength: number): void {
    this.measuredDetails = details
    this.measuredLength = jsonLength
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
    this.#timestamp ??= isoTime(this.now)
    // No value of the tenant's vault reaches a trail, whoever put it in the details or the reason.
    const masked = this.mask !== null
    const reason = masked && event.reason !== null ? (this.mask as SecretMask).text(event.reason) : event.reason
    const details = masked ? (this.mask as SecretMask).details(event.details) : event.details
    // Written out field by field (not spread from the event): this runs on every governed call.
    // Each literal has every field the entry will have, in its final order, the seal's included
    // (placeholders the seal overwrites): no entry changes shape or grows a property store after.
    const input: AuditEntry =
      event.ledger === undefined
        ? { id: this.sealer.newId('aud'), sessionId: record.id, agentId: record.agentId, timestamp: this.#timestamp, tool: event.tool, action: event.action, scope: event.scope, outcome: event.outcome, flagged: event.flagged, reason, costUsd: event.costUsd, details, keyId: UNSEALED, seq: 0, prevHash: UNSEALED, hash: UNSEALED }
        : { id: this.sealer.newId('aud'), sessionId: record.id, agentId: record.agentId, timestamp: this.#timestamp, tool: event.tool, action: event.action, scope: event.scope, outcome: event.outcome, flagged: event.flagged, reason, costUsd: event.costUsd, details, ledger: event.ledger, keyId: UNSEALED, seq: 0, prevHash: UNSEALED, hash: UNSEALED }
    const entry = this.sealer.seal(head, input, this)
    if (this.entries === NONE) this.entries = []
    this.entries.push(entry)
    return entry
  }

  /**
   * Adds the same deltas to every session of a chain (a charge counts against each ancestor),
   * and to the budget windows of those that have them, in the slot of `at`: when the money was
   * reserved or charged (a hold's own time when it settles or is released).
   */
  move(chain: readonly SessionState[], spentMicros: number, reservedMicros: number, tool: string | null, at: number = this.now): void {
    if (this.counters === NONE) this.counters = []
    for (let index = 0; index < chain.length; index++) {
      const session = chain[index] as SessionState
      this.counters.push({ sessionId: session.record.id, spentMicros, reservedMicros, tool })
      if (session.record.controls !== null) (this.book ??= new UsageBook(this)).money(session, spentMicros, reservedMicros, at)
    }
  }

  /** Moves a session's slice (`slices.ts`): its free part, what was spent from it (at `tool`), what its descendants' slices hold of it. */
  moveSlice(session: SessionState, freeMicros: number, spentMicros: number, heldMicros: number, tool: string | null): void {
    if (this.counters === NONE) this.counters = []
    this.counters.push({ sessionId: session.record.id, spentMicros: 0, reservedMicros: 0, tool, slice: { freeMicros, spentMicros, heldMicros } })
  }

  /** One more call of `tool` for the rate limits and call caps of every session of the chain. */
  countCall(chain: readonly SessionState[], tool: string, scope: string | null): void {
    for (let index = 0; index < chain.length; index++) {
      const session = chain[index] as SessionState
      if (session.record.controls !== null) (this.book ??= new UsageBook(this)).call(session, tool, scope)
    }
  }

  /** What the sessions' controls counted, for the store. */
  get usage(): { sessionId: string; usage: SessionUsage }[] {
    return this.book === null ? (NONE as never[]) : this.book.changes()
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

  closeHold(holdId: string, entryId: string, chargedMicros: number, expired: boolean): void {
    if (this.closedHolds === NONE) this.closedHolds = []
    this.closedHolds.push({ holdId, entryId, chargedMicros, expired })
  }

  /** A hold changes its lease or approval; a later update of the same hold in this operation replaces the earlier one. */
  updateHold(update: HoldUpdate): void {
    if (this.updatedHolds === NONE) this.updatedHolds = []
    const earlier = this.updatedHolds.findIndex((known) => known.holdId === update.holdId)
    if (earlier === -1) this.updatedHolds.push(update)
    else this.updatedHolds[earlier] = update
  }

  /** An event for listeners, about `session` (the decision's clock and tenant). */
  emit(type: HaldirEventType, session: SessionState | null, data: Record<string, unknown>): void {
    if (this.events === NONE) this.events = []
    this.events.push({ id: this.sealer.newId('evt'), type, tenant: this.tenant, at: this.now, sessionId: session?.record.id ?? null, agentId: session?.record.agentId ?? null, data })
  }

  putSecret(secret: StoredSecret): void {
    if (this.secrets === NONE) this.secrets = []
    this.secrets.push(secret)
  }

  remember(record: IdempotencyRecord): void {
    this.idempotency = record
  }
}
