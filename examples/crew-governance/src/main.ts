// The seed scenario, done right: three agents, a $15 crew budget enforced atomically, one
// session per agent, secrets handed out by scope, and a verified audit report.
// Offline by default (a scripted model); with OPENAI_API_KEY or ANTHROPIC_API_KEY set it runs a real model.
import { createHaldir } from '@haldir/core'
import { Agent, Crew, Task } from '@haldir/crew'
import { scriptedModel } from '@haldir/crew/testing'
import type { LanguageModel } from 'ai'
import { scriptedTurns } from './scripted-turns.ts'
import { queryDb, sendEmail, webSearch, writeDb } from './tools.ts'

async function pickModel(): Promise<{ model: LanguageModel; label: string }> {
  if (process.env.OPENAI_API_KEY) {
    const { openai } = await import('@ai-sdk/openai')
    return { model: openai(process.env.OPENAI_MODEL ?? 'gpt-4.1-mini'), label: 'OpenAI' }
  }
  if (process.env.ANTHROPIC_API_KEY) {
    const { anthropic } = await import('@ai-sdk/anthropic')
    return { model: anthropic(process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-4-5'), label: 'Anthropic' }
  }
  return { model: scriptedModel(scriptedTurns), label: 'scripted (offline)' }
}

const haldir = createHaldir()
await haldir.storeSecret('search_api_key', 'sk_search_4f2a9c', { scopeRequired: 'browse' })
await haldir.storeSecret('db_password', 'pg_analytics_77b1', { scopeRequired: 'db_write' })
await haldir.storeSecret('smtp_password', 'smtp_mail_93de', { scopeRequired: 'send_email' })

const toolScopes = { webSearch: 'browse', queryDb: 'read', writeDb: 'db_write', sendEmail: 'send_email' }
const tools = { webSearch, queryDb, writeDb, sendEmail }

const researcher = Agent({
  role: 'researcher',
  goal: 'Find current, credible sources on the topic',
  backstory: 'A meticulous analyst who cites everything.',
  tools,
  scopes: ['read', 'browse'],
  budget: 5,
  toolScopes,
  toolCosts: { webSearch: 0.05 },
})
const analyst = Agent({
  role: 'analyst',
  goal: 'Turn research into numbers and store them',
  tools,
  scopes: ['read', 'db_write'],
  budget: 10,
  toolScopes,
  toolCosts: { queryDb: 0.02, writeDb: 0.1 },
})
const writer = Agent({
  role: 'writer',
  goal: 'Write a crisp brief and send it to the CEO',
  tools,
  scopes: ['read', 'send_email'],
  budget: 2,
  toolScopes,
  toolCosts: { sendEmail: 0.01 },
})

const { model, label } = await pickModel()
const crew = Crew({
  name: 'governance-crew',
  agents: [researcher, analyst, writer],
  tasks: [
    Task({ description: 'Research {topic}.', expectedOutput: 'Three bullet points with sources', agent: researcher }),
    Task({ description: 'Analyse the research on {topic} and store the findings.', expectedOutput: 'A metrics table', agent: analyst }),
    Task({ description: 'Write a brief on {topic} and email it to ceo@example.com.', expectedOutput: 'Confirmation that the brief was sent', agent: writer }),
  ],
  model,
  budget: 15,
  price: { inputPerMTok: 3, outputPerMTok: 15 },
  haldir,
  onTaskStart: ({ index, agent }) => console.log(`→ task ${index + 1} started by ${agent}`),
  onTaskEnd: ({ index, output }) => console.log(`✓ task ${index + 1} ${output.status}: ${output.raw.split('\n')[0]}`),
  onBudget: ({ threshold, spentUsd, limitUsd }) => console.log(`! crew budget ${threshold * 100}% reached ($${spentUsd} of $${limitUsd})`),
})

console.log(`Model: ${label}\n`)
const started = performance.now()
const result = await crew.kickoff({ inputs: { topic: 'AI agent governance' } })
console.log(`\nFinal answer:\n${result.raw}\n`)
result.report()
console.log(`\nTokens: ${result.tokenUsage.totalTokens} (${result.tokenUsage.inputTokens} in, ${result.tokenUsage.outputTokens} out) | ${Math.round(performance.now() - started)} ms`)
if (!result.audit.every((audit) => audit.verified)) process.exitCode = 1
