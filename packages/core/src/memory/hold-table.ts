import type { HoldClosing, HoldRecord, HoldUpdate } from '../engine/state-store.ts'
import { RecentMap } from '../internal/recent-map.ts'
import type { SessionTrail } from './session-trail.ts'

/** A hold as the memory store keeps it: open (`closing === null`), or closed and remembered for a while. */
export interface HoldSlot {
  hold: HoldRecord
  /** Set once the hold is closed, with where the entry that closed it is kept (its session's trail, at an index). */
  closing: HoldClosing | null
  // Where, not the entry: a closed hold is remembered for a long while, and the entry as an object
  // would keep ten heap objects alive with it (the trail keeps it compact).
  closedIn: SessionTrail | null
  closedAt: number
}

/** The open holds of one root session, and the earliest lease among them. */
interface RootHolds {
  /** Open slots, and closed ones not swept out yet (skipped wherever the list is read). */
  slots: HoldSlot[]
  open: number
  nextExpiry: number
}

/**
 * The memory store's holds by id, open and recently closed, and the open ones per root session
 * with the earliest lease among them.
 *
 * A root's open holds are an array, not a `Set`. A V8 `Set` shrinks as it empties and rehashes
 * every entry as it refills, at each power of two. In a loop of governed calls whose settles land
 * a batch at a time, the open holds map and the roots' sets did that together: the 64th and the
 * 128th call after each batch took 4–8 µs more, 1% of all calls. A closed hold stays in its root's
 * array, marked closed, until the array is compacted in place once most of it is closed (the
 * batch's own call pays for that).
 *
 * The open holds map is kept from shrinking ({@link ballasted}): it is rebuilt without its deleted
 * slots by the call that closes every {@link REBUILD_AFTER}th hold, never by a call opening one.
 */
export class HoldTable {
  // Open holds by id; the ballast's numeric keys (never a hold id, which is a string) map to `null`.
  #open = ballasted()
  // Holds deleted from `#open` since it was last rebuilt: their slots stay taken until then.
  #deleted = 0
  // Closed holds are kept only so a repeated settle, or a replayed key, gets the same answer: bounded.
  readonly #closed: RecentMap<string, HoldSlot>
  readonly #roots = new Map<string, RootHolds>()

  /** Remembers at least the last `remember / 2` holds closed. */
  constructor(remember: number) {
    this.#closed = new RecentMap(remember)
  }

  get(holdId: string): HoldSlot | undefined {
    return this.#open.get(holdId) ?? this.#closed.get(holdId)
  }

  open(hold: HoldRecord): void {
    const slot: HoldSlot = { hold, closing: null, closedIn: null, closedAt: -1 }
    this.#open.set(hold.id, slot)
    let root = this.#roots.get(hold.rootId)
    if (!root) this.#roots.set(hold.rootId, (root = { slots: [], open: 0, nextExpiry: hold.expiresAt }))
    root.slots.push(slot)
    root.open++
    if (hold.expiresAt < root.nextExpiry) root.nextExpiry = hold.expiresAt
  }

  /** Closes the hold with the entry kept in `trail` at `index`. */
  close(slot: HoldSlot, closing: HoldClosing, trail: SessionTrail, index: number): void {
    // Closed once: a second closing would count its root's open holds down twice.
    if (slot.closing !== null) return
    slot.closing = closing
    slot.closedIn = trail
    slot.closedAt = index
    this.#open.delete(slot.hold.id)
    if (++this.#deleted >= REBUILD_AFTER) this.#rebuild()
    this.#closed.set(slot.hold.id, slot)
    const root = this.#roots.get(slot.hold.rootId)
    if (!root) return
    root.open--
    if (root.slots.length >= 64 && root.slots.length >= 2 * root.open) compact(root)
  }

  /** An approval decided: an open hold's lease moves (the root's earliest lease follows); a closed one's record is replaced. */
  update(update: HoldUpdate): void {
    const slot = this.get(update.holdId)
    if (!slot) return
    if (slot.closing !== null) {
      slot.hold = { ...slot.hold, approval: update.approval }
      return
    }
    slot.hold.expiresAt = update.expiresAt
    slot.hold.approval = update.approval
    const root = this.#roots.get(slot.hold.rootId)
    if (root && update.expiresAt < root.nextExpiry) root.nextExpiry = update.expiresAt
  }

  /** The open holds under `rootId` whose lease has ended at `at`; a number comparison unless one may have. */
  expiredUnder(rootId: string, at: number): HoldRecord[] {
    const root = this.#roots.get(rootId)
    if (!root || root.nextExpiry > at) return []
    compact(root)
    const expired: HoldRecord[] = []
    let next = Number.POSITIVE_INFINITY
    for (const { hold } of root.slots) {
      if (hold.expiresAt <= at) expired.push(hold)
      if (hold.expiresAt < next) next = hold.expiresAt
    }
    root.nextExpiry = next
    return expired
  }

  /** Every open hold's slot. */
  *openSlots(): IterableIterator<HoldSlot> {
    for (const slot of this.#open.values()) if (slot) yield slot
  }

  /** A fresh open holds map: the ballast, then the open holds in the order they were opened. */
  #rebuild(): void {
    const open = ballasted()
    for (const [id, slot] of this.#open) if (slot) open.set(id, slot)
    this.#open = open
    this.#deleted = 0
  }
}

/**
 * How many keys keep the open holds map from shrinking, and how many deletions it takes before
 * it is rebuilt without them. A V8 `Map` gives its slots back when a deletion leaves it under a
 * quarter full, and rehashes every entry at each power of two as it refills. A batch of settles
 * closing 200 holds emptied the map, and the calls opening holds after it paid for the refill:
 * the 9th, 17th, 33rd, 65th and 129th call after each batch, up to 0.3% of all calls over 10 µs.
 * 513 keys take the map to 1,024 slots, and it never falls under a quarter full again. Ballast,
 * open holds and deleted slots fit those 1,024 while at most 255 holds are open, so no call
 * opening one rehashes the map; past that, it grows once, as any map does.
 */
const BALLAST = 513
const REBUILD_AFTER = 256

function ballasted(): Map<string | number, HoldSlot | null> {
  const map = new Map<string | number, HoldSlot | null>()
  for (let key = 0; key < BALLAST; key++) map.set(key, null)
  return map
}

/** Keeps a root's open slots only, in order, in the same array. */
function compact(root: RootHolds): void {
  const { slots } = root
  let kept = 0
  for (let index = 0; index < slots.length; index++) {
    const slot = slots[index] as HoldSlot
    if (slot.closing === null) slots[kept++] = slot
  }
  slots.length = kept
}
