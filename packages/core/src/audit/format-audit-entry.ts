import { microsToUsd, usdToMicros } from '../money/usd-to-micros.ts'
import type { AuditEntry } from './audit-entry.ts'

/** `OK`, `BLOCKED` or `ERROR`, as reports print an entry's outcome. */
export function outcomeLabel(entry: Pick<AuditEntry, 'outcome'>): 'OK' | 'BLOCKED' | 'ERROR' {
  return entry.outcome === 'ok' ? 'OK' : entry.outcome === 'denied' ? 'BLOCKED' : 'ERROR'
}

/** A USD amount with cents always and up to six decimals when the micro-dollars need them: `$0.01`, `$0.000125`. */
export function formatUsd(usd: number): string {
  const micros = usdToMicros(usd, 'usd')
  const text = microsToUsd(micros).toFixed(6).replace(/0{1,4}$/, '')
  return `$${text}`
}

/**
 * One line per audit entry, as the CLI and the crew report print a trail:
 * `timestamp | tool | OK/BLOCKED/ERROR | $cost`, then ` | reason` for entries that did not go through.
 * An entry about money held or a person's decision names it after the tool (`purchase
 * (approval.approve)`), so a trail tells a request and its decision from the call itself.
 *
 * @example
 * formatAuditEntry(entry) // '2026-11-24T12:00:00.000Z | search | OK | $0.01'
 */
export function formatAuditEntry(entry: AuditEntry): string {
  const reason = entry.outcome === 'ok' || entry.reason === null ? '' : ` | ${entry.reason}`
  const step = entry.action.startsWith('approval.') || entry.action.startsWith('hold.') ? ` (${entry.action})` : ''
  return `${entry.timestamp} | ${entry.tool}${step} | ${outcomeLabel(entry)} | ${formatUsd(entry.costUsd)}${reason}`
}
