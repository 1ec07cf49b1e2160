import type { AuditEntry, Spend } from '@haldir/core'

export interface AgentAudit {
  role: string
  sessionId: string
  spend: Spend
  entries: AuditEntry[]
  verified: boolean
}

const money = (usd: number) => `$${usd.toFixed(4)}`

/** One line per audited action: `timestamp | tool | OK/BLOCKED/ERROR | $cost` (session bookkeeping left out). */
export function formatEntry(entry: AuditEntry): string {
  const status = entry.outcome === 'ok' ? 'OK' : entry.outcome === 'denied' ? 'BLOCKED' : 'ERROR'
  return `${entry.timestamp} | ${entry.tool} | ${status} | ${money(entry.costUsd)}${entry.outcome === 'ok' ? '' : ` | ${entry.reason ?? ''}`}`
}

/** The per-agent audit report: actions, spend, one line per entry, and whether every chain verified. */
export function formatCrewReport(options: { crewSpend: Spend; agents: readonly AgentAudit[]; tasks: { completed: number; total: number }; stoppedReason: string | null }): string {
  const { crewSpend } = options
  const lines: string[] = ['=== Haldir crew report ===']
  const limit = crewSpend.limitUsd
  lines.push(
    `Crew spend: ${money(crewSpend.totalUsd)}${limit === null ? '' : ` of $${limit.toFixed(2)} (${((100 * crewSpend.totalUsd) / (limit || 1)).toFixed(1)}%)`}` +
      ` | tasks: ${options.tasks.completed}/${options.tasks.total} completed`,
  )
  if (options.stoppedReason) lines.push(`Stopped: ${options.stoppedReason}`)
  for (const agent of options.agents) {
    const actions = agent.entries.filter((entry) => !entry.action.startsWith('session.'))
    const blocked = actions.filter((entry) => entry.outcome === 'denied').length
    lines.push('')
    lines.push(`Agent: ${agent.role} (${agent.sessionId})`)
    lines.push(
      `  actions: ${actions.length} (${blocked} blocked) | spend: ${money(agent.spend.totalUsd)}${agent.spend.limitUsd === null ? '' : ` of $${agent.spend.limitUsd.toFixed(2)}`} | audit chain: ${agent.verified ? 'verified' : 'BROKEN'}`,
    )
    for (const entry of actions) lines.push(`  ${formatEntry(entry)}`)
  }
  lines.push('')
  lines.push(options.agents.every((agent) => agent.verified) ? 'All audit chains verified.' : 'AUDIT CHAIN BROKEN for at least one agent.')
  return lines.join('\n')
}
