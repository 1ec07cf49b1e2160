// The seed's CrewAI recipe on upstream Haldir's API: one session per agent, tool wrappers that
// check → authorize → log (three round trips per call), a crew budget summed from the agents'
// spend, a per-agent audit report, vault access by scope, and revocation at the end.
import { type AuditEntry, HaldirClient, HaldirPermissionError } from './haldir-client.ts'

type Tool = (input: string) => Promise<string>

/** The recipe's governed tool: check the scope, authorize the cost, run, log. A refusal is returned as `BLOCKED: …` for the model. */
export function governedTool(client: HaldirClient, sessionId: string, spec: { name: string; scope: string; costUsd: number }, run: Tool): Tool {
  return async (input) => {
    const permission = await client.checkPermission(sessionId, spec.scope)
    if (!permission.allowed) return `BLOCKED: ${spec.name} needs scope '${spec.scope}'`
    try {
      await client.authorizePayment(sessionId, spec.costUsd, { description: spec.name })
    } catch (error) {
      if (error instanceof HaldirPermissionError) return `BLOCKED: ${error.message}`
      throw error
    }
    const result = await run(input)
    await client.logAction(sessionId, { tool: spec.name, action: 'execute', costUsd: spec.costUsd, details: { input } })
    return result
  }
}

const tools = {
  web_search: { scope: 'browse', costUsd: 0.05, run: async (query: string) => `3 results for ${query}` },
  query_db: { scope: 'read', costUsd: 0.02, run: async (sql: string) => `rows for ${sql}` },
  write_db: { scope: 'db_write', costUsd: 0.1, run: async (row: string) => `stored ${row}` },
  send_email: { scope: 'send_email', costUsd: 0.01, run: async (to: string) => `sent to ${to}` },
  render_pdf: { scope: 'send_email', costUsd: 0.75, run: async (title: string) => `rendered ${title}` },
} as const

type ToolName = keyof typeof tools

const agents = [
  { role: 'researcher', scopes: ['read', 'browse', 'spend:5'], plan: [['web_search', 'agent governance'], ['web_search', 'audit trails'], ['web_search', 'budgets'], ['write_db', 'findings']] },
  { role: 'analyst', scopes: ['read', 'db_write', 'spend:10'], plan: [['query_db', 'select 1'], ['query_db', 'select 2'], ['write_db', 'metrics'], ['send_email', 'ceo@example.com']] },
  { role: 'writer', scopes: ['read', 'send_email', 'spend:2'], plan: [['send_email', 'ceo@example.com'], ['render_pdf', 'brief'], ['render_pdf', 'appendix'], ['render_pdf', 'slides'], ['web_search', 'more']] },
] as const satisfies readonly { role: string; scopes: readonly string[]; plan: readonly (readonly [ToolName, string])[] }[]

export interface RecipeResult {
  /** What each tool call returned, per agent. */
  outputs: Record<string, string[]>
  /** Each agent's spend as `GET /v1/audit/spend` reports it, and as the session's counter holds it. */
  spend: Record<string, { totalUsd: number; sessionSpentUsd: number }>
  crewTotalUsd: number
  /** The per-agent audit report, one line per entry. */
  report: string[]
  vault: { analyst: string; researcher: string }
  afterRevoke: string
  verified: boolean
}

/** Runs the recipe against a Haldir API at `baseUrl` with `apiKey`. */
export async function runCrewRecipe(baseUrl: string, apiKey: string): Promise<RecipeResult> {
  const client = new HaldirClient(apiKey, baseUrl)
  await client.storeSecret('db_password', 'pg-analytics-7731', 'db_write')
  const sessions: Record<string, string> = {}
  const outputs: Record<string, string[]> = {}
  for (const agent of agents) {
    const session = await client.createSession(agent.role, { scopes: [...agent.scopes], ttl: 3600 })
    sessions[agent.role] = session.session_id
    outputs[agent.role] = []
    for (const [name, input] of agent.plan) {
      const tool = tools[name]
      const governed = governedTool(client, session.session_id, { name, scope: tool.scope, costUsd: tool.costUsd }, tool.run)
      outputs[agent.role]?.push(await governed(input))
    }
  }

  // The crew's budget, as the recipe sums it: every agent's spend, between tasks.
  const spend: RecipeResult['spend'] = {}
  let crewTotalUsd = 0
  for (const [role, sessionId] of Object.entries(sessions)) {
    const reported = await client.getSpend({ sessionId })
    const session = await client.getSession(sessionId)
    spend[role] = { totalUsd: reported.total_usd, sessionSpentUsd: session.spent }
    crewTotalUsd += reported.total_usd
  }

  const report: string[] = []
  for (const [role, sessionId] of Object.entries(sessions)) {
    const trail = await client.getAuditTrail({ sessionId, limit: 100 })
    report.push(`Agent: ${role} (${trail.count} entries, $${spend[role]?.totalUsd.toFixed(2)} spent)`)
    for (const entry of [...trail.entries].reverse()) report.push(`  ${line(entry)}`)
  }

  const vault = {
    analyst: await client.getSecret('db_password', sessions.analyst as string),
    researcher: await client.getSecret('db_password', sessions.researcher as string).catch((error: unknown) => `refused: ${(error as Error).message}`),
  }
  for (const sessionId of Object.values(sessions)) await client.revokeSession(sessionId)
  const afterRevoke = await governedTool(client, sessions.researcher as string, { name: 'web_search', scope: 'browse', costUsd: 0.05 }, tools.web_search.run)('after the end')
  const verified = (await client.verifyAudit()).verified
  return { outputs, spend, crewTotalUsd, report, vault, afterRevoke, verified }
}

function line(entry: AuditEntry): string {
  const when = new Date(entry.timestamp * 1000).toISOString().slice(11, 19)
  return `${when} | ${entry.tool || '-'} | ${entry.action} | ${entry.flagged ? 'BLOCKED' : 'OK'} | $${entry.cost_usd.toFixed(2)}`
}
