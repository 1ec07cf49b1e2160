import { createHaldir, ValidationError } from '@haldir/core'
import { tool as langchainTool } from '@langchain/core/tools'
import { tool } from 'ai'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { Agent } from './agent.ts'
import { Crew } from './crew.ts'
import { crewContext } from './crew-context.ts'
import { Task } from './task.ts'
import { scriptedModel } from './testing/scripted-model.ts'

function toolkit() {
  const calls: string[] = []
  const webSearch = tool({
    description: 'Search the web',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }) => {
      calls.push(`search:${query}:${crewContext().role}`)
      return `results for ${query}`
    },
  })
  const writeDb = tool({
    description: 'Write a row',
    inputSchema: z.object({ row: z.string() }),
    execute: async ({ row }) => {
      const password = await crewContext().getSecret('db_password')
      calls.push(`db:${row}:${password.length}`)
      return 'written'
    },
  })
  return { calls, webSearch, writeDb }
}

describe('Crew (sequential)', () => {
  it('runs tasks in order with context, governs each agent by its own session, and reports', async () => {
    const haldir = createHaldir()
    await haldir.storeSecret('db_password', 'pg_crew_secret', { scopeRequired: 'db_write' })
    const { calls, webSearch, writeDb } = toolkit()
    const model = scriptedModel({
      researcher: [
        { toolCalls: [{ tool: 'webSearch', input: { query: 'governance' } }] },
        { toolCalls: [{ tool: 'writeDb', input: { row: 'sneaky' } }] },
        { text: 'Findings: scopes, budgets, audit.' },
      ],
      analyst: [{ toolCalls: [{ tool: 'writeDb', input: { row: 'stats' } }] }, { toolCalls: [{ tool: 'webSearch', input: { query: 'more' } }] }, { text: 'Analysis done.' }],
    })
    const researcher = Agent({ role: 'researcher', goal: 'Find sources', tools: { webSearch, writeDb }, scopes: ['read', 'browse'], budget: 5, toolScopes: { webSearch: 'browse', writeDb: 'db_write' }, toolCosts: { webSearch: 0.05 } })
    const analyst = Agent({ role: 'analyst', goal: 'Analyse', tools: { webSearch, writeDb }, scopes: ['read', 'db_write'], budget: 10, toolScopes: { webSearch: 'browse', writeDb: 'db_write' }, toolCosts: { writeDb: 0.1 } })
    const research = Task({ description: 'Research {topic}', expectedOutput: 'Bullet points', agent: researcher })
    const analyse = Task({ description: 'Analyse the research', expectedOutput: 'A table', agent: analyst })
    const started: string[] = []
    const crew = Crew({ agents: [researcher, analyst], tasks: [research, analyse], model, budget: 15, haldir, onTaskStart: ({ agent }) => void started.push(agent) })
    const result = await crew.kickoff({ inputs: { topic: 'agent governance' } })

    expect(started).toEqual(['researcher', 'analyst'])
    expect(result.tasksOutput.map((output) => [output.agent, output.status, output.raw])).toEqual([
      ['researcher', 'completed', 'Findings: scopes, budgets, audit.'],
      ['analyst', 'completed', 'Analysis done.'],
    ])
    expect(result.tasksOutput[0]?.description).toBe('Research agent governance')
    // The analyst's first prompt carried the researcher's output as context.
    const analystPrompt = JSON.stringify(model.doGenerateCalls.find((call) => JSON.stringify(call.prompt).includes('You are analyst'))?.prompt)
    expect(analystPrompt).toContain('Findings: scopes, budgets, audit.')
    expect(calls).toEqual(['search:governance:researcher', 'db:stats:14'])
    expect(result.tokenUsage).toEqual({ inputTokens: 6 * 500, outputTokens: 6 * 120, totalTokens: 6 * 620 })

    const researcherSpend = await haldir.getSpend(result.sessions.agents.researcher as string)
    const analystSpend = await haldir.getSpend(result.sessions.agents.analyst as string)
    expect(researcherSpend.totalUsd).toBe(0.05)
    expect(analystSpend.totalUsd).toBe(0.1)
    expect(result.spend).toMatchObject({ totalUsd: 0.15, limitUsd: 15 })

    // One blocked attempt per agent, in its own trail.
    for (const audit of result.audit) {
      expect(audit.verified).toBe(true)
      expect(audit.entries.filter((entry) => entry.outcome === 'denied')).toHaveLength(1)
    }
    const report = result.report()
    expect(report).toMatch(/Agent: researcher \(ses_[^)]+\)\n {2}actions: 2 \(1 blocked\) \| spend: \$0\.05 of \$5\.00 \| audit chain: verified/)
    expect(report).toMatch(/\| webSearch \| OK \| \$0\.05$/m)
    expect(report).toMatch(/\| writeDb \| BLOCKED \| \$0\.00 \| scope 'db_write' not granted/)
    expect(report).toContain('All audit chains verified.')

    // Sessions are revoked at the end.
    expect((await haldir.getSession(result.sessions.crew)).revokedAt).not.toBeNull()
    expect(await haldir.checkPermission(result.sessions.agents.researcher as string, 'browse')).toMatchObject({ allowed: false, code: 'session_revoked' })
  })

  it('accepts LangChain tools', async () => {
    const haldir = createHaldir()
    const seen: string[] = []
    const lookup = langchainTool(
      async ({ id }) => {
        seen.push(id)
        return `record ${id}`
      },
      { name: 'lookup', description: 'Look a record up', schema: z.object({ id: z.string() }) },
    )
    const model = scriptedModel({ clerk: [{ toolCalls: [{ tool: 'lookup', input: { id: 'A7' } }] }, { text: 'Found A7.' }] })
    const clerk = Agent({ role: 'clerk', goal: 'Look things up', tools: [lookup], scopes: ['lookup'], toolCosts: { lookup: 0.01 } })
    const result = await Crew({ agents: [clerk], tasks: [Task({ description: 'Find A7', expectedOutput: 'the record', agent: clerk })], model, haldir }).kickoff()
    expect(seen).toEqual(['A7'])
    expect(result.raw).toBe('Found A7.')
    expect(result.spend.totalUsd).toBe(0.01)
    const toolResult = JSON.stringify(model.doGenerateCalls[1]?.prompt)
    expect(toolResult).toContain('record A7')
  })

  it('stops before the next task once the crew budget is spent, never charging past it', async () => {
    const haldir = createHaldir()
    const paid = tool({ description: 'Paid call', inputSchema: z.object({}), execute: async () => 'ok' })
    const turns = Array.from({ length: 6 }, () => ({ toolCalls: [{ tool: 'paid', input: {} }] }))
    const model = scriptedModel({ worker: [...turns, { text: 'first done' }] })
    const worker = Agent({ role: 'worker', goal: 'Spend', tools: { paid }, scopes: ['paid'], toolCosts: { paid: 0.1 }, maxIter: 10 })
    const tasks = [1, 2, 3].map((index) => Task({ description: `Task ${index}`, expectedOutput: 'x', agent: worker }))
    const events: number[] = []
    const ended = vi.fn()
    const result = await Crew({ agents: [worker], tasks, model, budget: 0.25, haldir, onBudget: ({ threshold }) => void events.push(threshold), onTaskEnd: ended }).kickoff()
    expect(result.spend.totalUsd).toBe(0.2)
    expect(result.tasksOutput.map((output) => output.status)).toEqual(['completed', 'skipped', 'skipped'])
    expect(result.stopped).toMatchObject({ reason: 'budget_exhausted', beforeTask: 1 })
    expect(result.tasksOutput[1]?.raw).toMatch(/^SKIPPED: Crew budget of \$0.25 is spent/)
    expect(events).toEqual([0.5, 0.8, 1])
    expect(ended).toHaveBeenCalledTimes(1)
    const refusals = result.audit[0]?.entries.filter((entry) => entry.outcome === 'denied') ?? []
    expect(refusals.length).toBeGreaterThan(0)
    expect(refusals.every((entry) => entry.reason?.includes(`limit of ancestor ${result.sessions.crew}`))).toBe(true)
  })

  it('fires each budget threshold once, in order, as spend crosses it', async () => {
    const haldir = createHaldir()
    const paid = tool({ description: 'Paid call', inputSchema: z.object({}), execute: async () => 'ok' })
    const model = scriptedModel({ worker: [...Array.from({ length: 9 }, () => ({ toolCalls: [{ tool: 'paid', input: {} }] })), { text: 'done' }] })
    const worker = Agent({ role: 'worker', goal: 'Spend', tools: { paid }, scopes: ['paid'], toolCosts: { paid: 0.1 }, maxIter: 12 })
    const events: { threshold: number; spentUsd: number }[] = []
    const callback = vi.fn()
    const task = Task({ description: 'Work', expectedOutput: 'x', agent: worker, callback })
    const result = await Crew({ agents: [worker], tasks: [task], model, budget: 1, haldir, onBudget: ({ threshold, spentUsd }) => void events.push({ threshold, spentUsd }) }).kickoff()
    expect(result.spend.totalUsd).toBe(0.9)
    expect(events).toEqual([
      { threshold: 0.5, spentUsd: 0.5 },
      { threshold: 0.8, spentUsd: 0.8 },
    ])
    expect(callback).toHaveBeenCalledWith(expect.objectContaining({ status: 'completed', raw: 'done' }))
  })

  it('meters model tokens against the agent and crew budgets when given a price', async () => {
    const haldir = createHaldir()
    const model = scriptedModel({ writer: [{ text: 'An essay.' }] }, { usage: { inputTokens: 1000, outputTokens: 500 } })
    const writer = Agent({ role: 'writer', goal: 'Write', scopes: ['read'] })
    const result = await Crew({ agents: [writer], tasks: [Task({ description: 'Write', expectedOutput: 'essay', agent: writer })], model, haldir, budget: 1, price: { inputPerMTok: 3, outputPerMTok: 15 } }).kickoff()
    expect(result.spend).toMatchObject({ totalUsd: 0.0105, byTool: { 'scripted-model': 0.0105 } })
  })

  it('marks a task blocked when its model call is refused', async () => {
    const haldir = createHaldir()
    const model = scriptedModel({ writer: [{ text: 'never' }] })
    const writer = Agent({ role: 'writer', goal: 'Write', scopes: ['read'], budget: 0.01 })
    const result = await Crew({ agents: [writer], tasks: [Task({ description: 'Write', expectedOutput: 'essay', agent: writer })], model, haldir, price: { inputPerMTok: 3, outputPerMTok: 15 }, maxCostPerModelCall: 0.05 }).kickoff()
    expect(result.tasksOutput[0]).toMatchObject({ status: 'blocked', raw: expect.stringMatching(/^BLOCKED: Budget exceeded/) })
    expect(model.doGenerateCalls).toHaveLength(0)
    // Refused before the provider was called: nothing charged, the refusal audited on the agent's trail.
    expect(result.spend.totalUsd).toBe(0)
    expect(result.audit[0]?.entries.find((entry) => entry.outcome === 'denied')).toMatchObject({ tool: 'scripted-model', action: 'model.call', flagged: true, costUsd: 0 })
  })
})

describe('Crew (hierarchical)', () => {
  it('lets a manager delegate tasks to agents, each governed by its own session', async () => {
    const haldir = createHaldir()
    const { calls, webSearch } = toolkit()
    const manager = scriptedModel({
      manager: [
        { toolCalls: [{ tool: 'delegate_work', input: { coworker: 'researcher', task: 'Find three sources on budgets' } }] },
        { text: 'Final: three sources found.' },
      ],
    })
    const model = scriptedModel({ researcher: [{ toolCalls: [{ tool: 'webSearch', input: { query: 'budgets' } }] }, { text: 'Sources: A, B, C.' }] })
    const researcher = Agent({ role: 'researcher', goal: 'Find sources', tools: { webSearch }, scopes: ['browse'], toolScopes: { webSearch: 'browse' }, toolCosts: { webSearch: 0.05 } })
    const writer = Agent({ role: 'writer', goal: 'Write', scopes: ['read'] })
    const crew = Crew({ agents: [researcher, writer], tasks: [Task({ description: 'Research budgets', expectedOutput: 'sources' })], process: 'hierarchical', model, managerModel: manager, haldir, budget: 2 })
    const result = await crew.kickoff()
    expect(result.tasksOutput[0]).toMatchObject({ agent: 'researcher', status: 'completed', raw: 'Final: three sources found.' })
    expect(calls).toEqual(['search:budgets:researcher'])
    expect(result.sessions.manager).toMatch(/^ses_/)
    // The delegate's answer reached the manager as the tool result.
    expect(JSON.stringify(manager.doGenerateCalls[1]?.prompt)).toContain('Sources: A, B, C.')
    expect(await haldir.getSpend(result.sessions.agents.researcher as string)).toMatchObject({ totalUsd: 0.05 })
    expect(result.spend.totalUsd).toBe(0.05)
    const managerAudit = result.audit.find((audit) => audit.role === 'manager')
    expect(managerAudit?.entries.some((entry) => entry.tool === 'delegate_work' && entry.outcome === 'ok')).toBe(true)
  })
})

describe('validation', () => {
  it('refuses malformed agents, tasks and crews with ValidationError', () => {
    const model = scriptedModel({})
    expect(() => Agent({ role: '', goal: 'x' })).toThrow(/role/)
    expect(() => Agent({ role: 'a', goal: 'x', scopes: ['bad scope'] })).toThrow(/scopes/)
    expect(() => Task({ description: '', expectedOutput: 'x' })).toThrow(/description/)
    const agent = Agent({ role: 'a', goal: 'x' })
    expect(() => Crew({ agents: [], tasks: [], model })).toThrow(/at least one agent/)
    expect(() => Crew({ agents: [agent], tasks: [Task({ description: 'd', expectedOutput: 'e' })], model })).toThrow(/needs an agent on every task/)
    expect(() => Crew({ agents: [agent], tasks: [Task({ description: 'd', expectedOutput: 'e', agent })] })).toThrow(/no model/)
    expect(() => Crew({ agents: [agent, Agent({ role: 'a', goal: 'y' })], tasks: [Task({ description: 'd', expectedOutput: 'e', agent })], model })).toThrow(/share the role/)
    expect(() => Crew({ agents: [agent], tasks: [Task({ description: 'd', expectedOutput: 'e', agent })], model, budget: -1 })).toThrow(/budget/)
    expect(() => Agent({ role: '', goal: 'x' })).toThrow(ValidationError)
    expect(() => Crew({ agents: [], tasks: [], model })).toThrow(ValidationError)
  })
})

describe('typos never pass silently', () => {
  it('refuses unknown options of agents, tasks and crews, suggesting the right name', () => {
    const model = scriptedModel({})
    expect(() => Agent({ role: 'a', goal: 'g', budjet: 5 } as never)).toThrow(/unknown option 'budjet' \(did you mean 'budget'\?\)/)
    const agent = Agent({ role: 'a', goal: 'g' })
    expect(() => Task({ description: 'd', expectedOutput: 'e', agnet: agent } as never)).toThrow(/did you mean 'agent'/)
    expect(() => Crew({ agents: [agent], tasks: [Task({ description: 'd', expectedOutput: 'e', agent })], model, budgte: 1 } as never)).toThrow(/did you mean 'budget'/)
  })
})
