import { type AuditEntry, formatAuditEntry, type Spend } from '@haldir/core'
import { formatUsd } from '@haldir/core/backend'

export interface AgentAudit {
  role: string
  sessionId: string
  spend: Spend
  entries: AuditEntry[]
  verified: boolean
}

/** @deprecated Use `formatAuditEntry` from `@haldir/core`; this alias goes in the next minor release. */
export const formatEntry: (entry: AuditEntry) => string = formatAuditEntry

/** The per-agent audit report: actions, spend, one line per entry, and whether every chain verified. */
export function formatCrewReport(options: { crewSpend: Spend; agents: readonly AgentAudit[]; tasks: { completed: number; total: number }; stoppedReason: string | null }): string {
  const { crewSpend } = options
  const lines: string[] = ['=== Haldir crew report ===']
  const limit = crewSpend.limitUsd
  lines.push(
    `Crew spend: ${formatUsd(crewSpend.totalUsd)}${limit === null ? '' : ` of ${formatUsd(limit)} (${((100 * crewSpend.totalUsd) / (limit || 1)).toFixed(1)}%)`}` +
      ` | tasks: ${options.tasks.completed}/${options.tasks.total} completed`,
  )
  if (options.stoppedReason) lines.push(`Stopped: ${options.stoppedReason}`)
  for (const agent of options.agents) {
    // One line per call: session bookkeeping and reservations (`hold.open`) are not calls.
    const actions = agent.entries.filter((entry) => !entry.action.startsWith('session.') && entry.action !== 'hold.open')
    const blocked = actions.filter((entry) => entry.outcome === 'denied').length
    lines.push('')
    lines.push(`Agent: ${agent.role} (${agent.sessionId})`)
    lines.push(
      `  actions: ${actions.length} (${blocked} blocked) | spend: ${formatUsd(agent.spend.totalUsd)}${agent.spend.limitUsd === null ? '' : ` of ${formatUsd(agent.spend.limitUsd)}`} | audit chain: ${agent.verified ? 'verified' : 'BROKEN'}`,
    )
    for (const entry of actions) lines.push(`  ${formatAuditEntry(entry)}`)
  }
  lines.push('')
  lines.push(options.agents.every((agent) => agent.verified) ? 'All audit chains verified.' : 'AUDIT CHAIN BROKEN for at least one agent.')
  return lines.join('\n')
}
