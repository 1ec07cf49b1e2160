import type { SessionState } from '../state-store.ts'

/** How long a hold stays open when the gate names no lease: long enough for slow tools, short enough that a crash frees the money. */
export const DEFAULT_HOLD_TTL_MS = 15 * 60_000

/** When a new hold on this chain must end: its lease, but never after the session or an ancestor expires. */
export function holdExpiry(chain: readonly SessionState[], now: number, ttlMs: number | null): number {
  let expiresAt = now + (ttlMs ?? DEFAULT_HOLD_TTL_MS)
  for (const link of chain) if (link.record.expiresAt < expiresAt) expiresAt = link.record.expiresAt
  return expiresAt
}
