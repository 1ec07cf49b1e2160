import type { AuditEntry } from '../../audit/audit-entry.ts'
import { auditEvents } from '../../audit/audit-events.ts'
import type { Draft } from '../draft.ts'
import type { ExpiredHold, HoldRecord, SessionState } from '../state-store.ts'

/** How long a hold stays open when the gate names no lease: long enough for slow tools, short enough that a crash frees the money. */
export const DEFAULT_HOLD_TTL_MS = 15 * 60_000

/** Releases one hold whose lease ended: its chain gets the reservation back, its session's trail a flagged entry. */
export function expireHold(hold: HoldRecord, chain: readonly SessionState[], draft: Draft<unknown>): AuditEntry {
  draft.move(chain, 0, -hold.amountMicros, null)
  const entry = draft.append(chain[0] as SessionState, auditEvents.holdExpired(hold))
  draft.closeHold(hold.id, entry.id, 0, true)
  return entry
}

/**
 * Releases every loaded hold whose lease ended by the decision's clock (a crashed caller's
 * reservation stops blocking its chain at the chain's next decision). Returns how much each
 * session's reservations shrink, or `null` when nothing was released.
 */
export function releaseExpiredHolds(expired: readonly ExpiredHold[], draft: Draft<unknown>, except: string | null = null): Map<string, number> | null {
  let released: Map<string, number> | null = null
  for (const { hold, chain } of expired) {
    if (hold.id === except || hold.expiresAt > draft.now || hold.closed || chain[0]?.record.id !== hold.sessionId) continue
    expireHold(hold, chain, draft)
    released ??= new Map()
    for (const link of chain) released.set(link.record.id, (released.get(link.record.id) ?? 0) + hold.amountMicros)
  }
  return released
}

/** The chain as its budget stands once `released` is given back (the loaded state itself is never changed). */
export function afterReleases(chain: SessionState[], released: ReadonlyMap<string, number> | null): SessionState[] {
  if (!released) return chain
  return chain.map((link) => {
    const back = released.get(link.record.id)
    return back ? { ...link, reservedMicros: link.reservedMicros - back } : link
  })
}

/** When a new hold on this chain must end: its lease, but never after the session or an ancestor expires. */
export function holdExpiry(chain: readonly SessionState[], now: number, ttlMs: number | null): number {
  let expiresAt = now + (ttlMs ?? DEFAULT_HOLD_TTL_MS)
  for (const link of chain) if (link.record.expiresAt < expiresAt) expiresAt = link.record.expiresAt
  return expiresAt
}
