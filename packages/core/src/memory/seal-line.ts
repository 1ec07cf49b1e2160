import type { AuditEntry, AuditHead } from '../audit/audit-entry.ts'
import type { SealOutputs } from '../audit/hash-audit-entry.ts'
import type { LaterSealing } from '../engine/state-store.ts'
import { drawIdsAhead, mintIdsAhead } from '../internal/new-id.ts'
import { nextTurn } from '../internal/next-turn.ts'
import type { SessionTrail } from './session-trail.ts'

/** Entries owed a seal past this many are sealed at once, whatever the turn: the line stays short. */
export const SEAL_LINE_LIMIT = 1024

/**
 * The memory store's entries that are applied but not sealed yet, in the order they were applied.
 * Sealing them in that order links each to the one before it in its chain: an entry's `prevHash`
 * is its chain's sealed end when its turn comes, exactly as if it had been sealed when decided.
 * The store seals the line before any read and before any answer that shows an entry; the line
 * seals itself at the end of the turn and whenever it grows past {@link SEAL_LINE_LIMIT}.
 */
export class SealLine {
  readonly #sealing: LaterSealing
  #entries: AuditEntry[] = []
  // The chain end each entry links to (its session's own head object, advanced as entries seal),
  // and where its leaf hash goes (its tenant's leaves; `null` without a ledger).
  #heads: AuditHead[] = []
  #leaves: (string[] | null)[] = []
  // Where each entry is kept (its session's trail, at an index): once sealed, it is kept compact there.
  #trails: SessionTrail[] = []
  #indexes: number[] = []
  #scheduled = false
  // One outputs object for every seal: the line runs to the end without anything else in between.
  readonly #outputs: SealOutputs = { bytes: 0, leaves: null, body: '' }

  constructor(sealing: LaterSealing) {
    this.#sealing = sealing
  }

  /** Whether the ledger is kept (the store then hands a leaves array with each entry). */
  get ledger(): boolean {
    return this.#sealing.ledger
  }

  get size(): number {
    return this.#entries.length
  }

  /** Owes `entry` (kept in `trail` at `index`) a seal after `head` (its session's head, already at the entry's `seq`). */
  add(entry: AuditEntry, head: AuditHead, leaves: string[] | null, trail: SessionTrail, index: number): void {
    this.#entries.push(entry)
    this.#heads.push(head)
    this.#leaves.push(leaves)
    this.#trails.push(trail)
    this.#indexes.push(index)
    if (this.#entries.length >= SEAL_LINE_LIMIT) this.sealAll()
    else if (!this.#scheduled) {
      this.#scheduled = true
      nextTurn(() => {
        this.#scheduled = false
        this.sealAll()
      })
    }
  }

  /** Seals every entry owed a seal, in order; the heads end where the chains end. */
  sealAll(): void {
    const entries = this.#entries
    if (entries.length === 0) return
    const heads = this.#heads
    const leaves = this.#leaves
    const trails = this.#trails
    const indexes = this.#indexes
    // Taken off the line first: should a seal throw, no entry is sealed twice or out of order.
    this.#entries = []
    this.#heads = []
    this.#leaves = []
    this.#trails = []
    this.#indexes = []
    const outputs = this.#outputs
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index] as AuditEntry
      const head = heads[index] as AuditHead
      outputs.leaves = leaves[index] ?? null
      // Cleared first: a seal that reports no body leaves the entry kept as it is, never with another's body.
      outputs.body = ''
      this.#sealing.seal({ seq: entry.seq - 1, hash: head.hash }, entry, outputs)
      head.hash = entry.hash
      ;(trails[index] as SessionTrail).sealed(indexes[index] as number, entry, outputs.body)
    }
    // The calls to come mint ids: they are encoded, and their random bytes drawn, here, after these callers had their answers.
    mintIdsAhead()
    drawIdsAhead()
  }
}
