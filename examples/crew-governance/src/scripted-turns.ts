import type { ScriptedTurn } from '@haldir/crew/testing'

// What the offline model does for each agent: real tool calls, including one attempt per agent
// at something its scopes do not allow (the report shows it BLOCKED).
export const scriptedTurns: Record<string, ScriptedTurn[]> = {
  researcher: [
    { toolCalls: [{ tool: 'webSearch', input: { query: 'AI agent governance' } }] },
    { toolCalls: [{ tool: 'webSearch', input: { query: 'agent spend limits' } }] },
    { toolCalls: [{ tool: 'sendEmail', input: { to: 'press@example.com', subject: 'Scoop', body: 'Early findings' } }] },
    { text: '- Agents need scoped permissions\n- Spend must be capped per agent and per crew\n- Every action needs a tamper-evident record' },
  ],
  analyst: [
    { toolCalls: [{ tool: 'queryDb', input: { sql: 'select count(*) from governed_calls' } }] },
    { toolCalls: [{ tool: 'writeDb', input: { table: 'findings', row: { topic: 'governance', score: 0.92 } } }] },
    { toolCalls: [{ tool: 'webSearch', input: { query: 'competitor pricing' } }] },
    { text: '| metric | value |\n|---|---|\n| governed calls | 42 |\n| blocked | 3 |' },
  ],
  writer: [
    { toolCalls: [{ tool: 'webSearch', input: { query: 'catchy headlines' } }] },
    { toolCalls: [{ tool: 'sendEmail', input: { to: 'ceo@example.com', subject: 'Governance brief', body: 'Summary attached' } }] },
    { text: 'Brief sent: three agents, 42 governed calls, every blocked attempt on record.' },
  ],
}
