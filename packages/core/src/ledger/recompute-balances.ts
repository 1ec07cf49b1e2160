import type { AuditEntry } from '../audit/audit-entry.ts'
import { usdToMicros } from '../money/usd-to-micros.ts'

/** What a session's counters must be, re-derived from the ledger marks of its trail and its descendants'. */
export interface DerivedBalance {
  spentMicros: number
  reservedMicros: number
}

/**
 * Re-derives spent (charges and settles) and reserved (holds opened and not yet closed) from the
 * entries of a session and all its descendants. A stored counter that differs was changed
 * outside the ledger (a reset `spent_micros`, say) and is reported like an edited entry.
 */
export function recomputeBalance(entries: Iterable<AuditEntry>): DerivedBalance {
  let spentMicros = 0
  const open = new Map<string, number>()
  for (const entry of entries) {
    const mark = entry.ledger
    if (!mark) continue
    if (mark.op === 'charge') spentMicros += usdToMicros(entry.costUsd, 'costUsd')
    else if (mark.op === 'reserve') open.set(mark.holdId, usdToMicros(mark.amountUsd, 'amountUsd'))
    else {
      if (mark.op === 'settle') spentMicros += usdToMicros(entry.costUsd, 'costUsd')
      open.delete(mark.holdId)
    }
  }
  let reservedMicros = 0
  for (const amount of open.values()) reservedMicros += amount
  return { spentMicros, reservedMicros }
}

/** Whether a session's trail carries ledger marks from its first entry (sessions created before the ledger do not). */
export function carriesLedger(entries: readonly AuditEntry[]): boolean {
  const created = entries.find((entry) => entry.action === 'session.create')
  return created?.details.ledger === 1
}
