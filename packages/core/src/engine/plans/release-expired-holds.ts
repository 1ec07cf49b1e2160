import type { AuditEntry } from '../../audit/audit-entry.ts'
import { auditEvents } from '../../audit/audit-events.ts'
import type { Draft } from '../draft.ts'
import type { ExpiredHold, HoldRecord, SessionState } from '../state-store.ts'
import { closeApproval, isPending, timeOutApproval } from './approval-steps.ts'
import { moveHold, sliceOf } from '../slices.ts'

/** What released holds give back to one session: reservations, and money back in its slice (sliced holds). */
export interface Released {
  reservedMicros: number
  freeMicros: number
}

/**
 * Ends one hold whose lease ended: its chain gets the reservation back, its session's trail a
 * flagged entry. A pending approval's lease is its deadline: it times out as its rules say
 * (approved on timeout, it stays open with a fresh lease). Returns whether money was released.
 */
export function endLease(hold: HoldRecord, chain: readonly SessionState[], draft: Draft<unknown>): boolean {
  if (isPending(hold)) return timeOutApproval(hold, chain, draft)
  expireHold(hold, chain, draft)
  return true
}

/** Releases one hold whose lease ended (not a pending approval: see {@link endLease}). */
export function expireHold(hold: HoldRecord, chain: readonly SessionState[], draft: Draft<unknown>): AuditEntry {
  if (hold.approval !== null) {
    // An approved call that never went on: the approval keeps its status, the money comes back.
    return closeApproval(hold as HoldRecord & { approval: NonNullable<HoldRecord['approval']> }, chain, draft, {
      status: 'expired',
      decidedBy: null,
      note: null,
      reason: `hold lease ended at ${new Date(hold.expiresAt).toISOString()} before the approved call went on; released, nothing charged`,
    }).entry
  }
  moveHold(draft, hold, chain, 0, null)
  const entry = draft.append(chain[0] as SessionState, auditEvents.holdExpired(hold))
  draft.emit('hold.expired', chain[0] as SessionState, { holdId: hold.id, tool: hold.tool, releasedUsd: entry.details.releasedUsd })
  draft.closeHold(hold.id, entry.id, 0, true)
  return entry
}

/**
 * Releases every loaded hold whose lease ended by the decision's clock (a crashed caller's
 * reservation stops blocking its chain at the chain's next decision). Returns what each session
 * gets back, or `null` when nothing was released.
 */
export function releaseExpiredHolds(expired: readonly ExpiredHold[], draft: Draft<unknown>, except: string | null = null): Map<string, Released> | null {
  let released: Map<string, Released> | null = null
  for (const { hold, chain } of expired) {
    if (hold.id === except || hold.expiresAt > draft.now || hold.closed || chain[0]?.record.id !== hold.sessionId) continue
    if (!endLease(hold, chain, draft)) continue
    released ??= new Map()
    // A sliced hold's money goes back to its session's slice: its ancestors still reserve it.
    const sliced = hold.sliced === true
    for (const link of sliced ? chain.slice(0, 1) : chain) {
      const known = released.get(link.record.id) ?? { reservedMicros: 0, freeMicros: 0 }
      known.reservedMicros += hold.amountMicros
      if (sliced) known.freeMicros += hold.amountMicros
      released.set(link.record.id, known)
    }
  }
  return released
}

/** The chain as its budget stands once `released` is given back (the loaded state itself is never changed). */
export function afterReleases(chain: SessionState[], released: ReadonlyMap<string, Released> | null): SessionState[] {
  if (!released) return chain
  return chain.map((link) => {
    const back = released.get(link.record.id)
    if (!back) return link
    const moved = { ...link, reservedMicros: link.reservedMicros - back.reservedMicros }
    if (back.freeMicros !== 0) {
      const slice = sliceOf(link)
      moved.slice = { ...slice, freeMicros: slice.freeMicros + back.freeMicros }
    }
    return moved
  })
}
