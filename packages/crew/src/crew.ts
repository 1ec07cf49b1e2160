import { createHaldir, errorMessage, type Haldir, parseInput, type Spend, type TokenPrice, ValidationError } from '@haldir/core'
import { type LanguageModel, tool } from 'ai'
import { z } from 'zod'
import type { CrewAgent } from './agent.ts'
import { type BudgetEvent, createBudgetWatch } from './budget-watch.ts'
import { type AgentAudit, formatCrewReport } from './format-crew-report.ts'
import { type AgentRunner, createAgentRunner, isCrewLimitRefusal } from './create-agent-runner.ts'
import type { CrewTask, TaskOutput } from './task.ts'

export interface CrewOptions {
  agents: CrewAgent[]
  tasks: CrewTask[]
  /** `sequential`: tasks in order, each by its agent; `hierarchical`: a manager model delegates. @default 'sequential' */
  process?: 'sequential' | 'hierarchical'
  /** The manager's model (hierarchical). @default `model` */
  managerModel?: LanguageModel
  /** Default model of agents that name none. */
  model?: LanguageModel
  /** USD for the whole crew: enforced atomically on every charge of every agent. */
  budget?: number
  /** Seconds the crew's sessions live. @default 3600 */
  ttl?: number
  /** @default createHaldir() (memory) */
  haldir?: Haldir
  /** Token prices for metering every model call. Without one, model calls are not charged. */
  price?: TokenPrice
  /** Reserved before each metered model call. @default 0.05 */
  maxCostPerModelCall?: number
  /** Budget fractions at which `onBudget` fires, once each. @default [0.5, 0.8, 1] */
  budgetThresholds?: number[]
  name?: string
  onTaskStart?: (event: { task: CrewTask; index: number; agent: string }) => void | Promise<void>
  onTaskEnd?: (event: { task: CrewTask; index: number; output: TaskOutput }) => void | Promise<void>
  onBudget?: (event: BudgetEvent) => void | Promise<void>
}

export interface CrewOutput {
  /** The last completed task's answer. */
  raw: string
  tasksOutput: TaskOutput[]
  tokenUsage: { inputTokens: number; outputTokens: number; totalTokens: number }
  /** Why the crew stopped before its last task, or `null`. */
  stopped: { reason: 'budget_exhausted'; message: string; beforeTask: number } | null
  /** The crew session's spend (all agents). */
  spend: Spend
  sessions: { crew: string; agents: Record<string, string>; manager: string | null }
  /** Per agent: trail, spend, chain verification (read after the sessions were revoked). */
  audit: AgentAudit[]
  /** Prints the per-agent audit report and returns it. */
  report(): string
}

const crewSchema = z.object({
  process: z.enum(['sequential', 'hierarchical']).default('sequential'),
  budget: z.number().positive().optional(),
  ttl: z.number().positive().default(3600),
  maxCostPerModelCall: z.number().positive().default(0.05),
  budgetThresholds: z.array(z.number().gt(0).lte(1)).default([0.5, 0.8, 1]),
  name: z.string().min(1).default('crew'),
})

/**
 * A crew, CrewAI-style, with governance built in. `kickoff()` opens a crew session holding the
 * crew budget and one child session per agent (its scopes and budget), so every charge of every
 * agent is checked atomically against its own limit and the crew's; budget callbacks fire at
 * thresholds; a crew whose budget is spent stops before its next task; all sessions are revoked
 * at the end and the result carries the per-agent audit report.
 *
 * @example
 * const crew = Crew({ agents: [researcher, writer], tasks: [research, write], budget: 15 })
 * const result = await crew.kickoff({ inputs: { topic: 'AI governance' } })
 * result.report()
 */
export function Crew(options: CrewOptions) {
  const parsed = parseInput(crewSchema, options, 'crew')
  if (!Array.isArray(options.agents) || options.agents.length === 0) throw new ValidationError({ issues: [{ path: 'crew.agents', message: 'needs at least one agent' }] })
  if (!Array.isArray(options.tasks) || options.tasks.length === 0) throw new ValidationError({ issues: [{ path: 'crew.tasks', message: 'needs at least one task' }] })
  const roles = new Set<string>()
  for (const agent of options.agents) {
    if (roles.has(agent.role)) throw new ValidationError({ issues: [{ path: 'crew.agents', message: `two agents share the role '${agent.role}'` }] })
    roles.add(agent.role)
    if (!agent.model && !options.model) throw new ValidationError({ issues: [{ path: `crew.agents.${agent.role}.model`, message: 'no model: give the agent or the crew one' }] })
  }
  for (const [index, task] of options.tasks.entries()) {
    if (parsed.process === 'sequential' && !task.agent) throw new ValidationError({ issues: [{ path: `crew.tasks.${index}.agent`, message: 'a sequential crew needs an agent on every task' }] })
    if (task.agent && !options.agents.includes(task.agent)) throw new ValidationError({ issues: [{ path: `crew.tasks.${index}.agent`, message: `'${task.agent.role}' is not one of the crew's agents` }] })
  }
  if (parsed.process === 'hierarchical' && !options.managerModel && !options.model) {
    throw new ValidationError({ issues: [{ path: 'crew.managerModel', message: 'a hierarchical crew needs a managerModel (or a crew model)' }] })
  }

  async function kickoff(kickoffOptions: { inputs?: Record<string, string | number> } = {}): Promise<CrewOutput> {
    const haldir = options.haldir ?? createHaldir()
    const inputs = kickoffOptions.inputs ?? {}
    const hierarchical = parsed.process === 'hierarchical'
    const crewScopes = [...new Set([...options.agents.flatMap((agent) => agent.scopes), ...(hierarchical ? ['delegate'] : [])])]
    const crewSession = await haldir.createSession({ agentId: parsed.name, scopes: crewScopes, spendLimit: options.budget ?? null, ttl: parsed.ttl, metadata: { kind: 'crew' } })
    const watch = createBudgetWatch({ haldir, crewSessionId: crewSession.id, thresholds: parsed.budgetThresholds, onBudget: options.onBudget })
    const onStep = async (refusals: unknown[]) => {
      if (refusals.some((error) => isCrewLimitRefusal(error, crewSession.id))) await watch.exhaust()
      else await watch.check()
    }

    const agentSessions: Record<string, string> = {}
    const runners = new Map<CrewAgent, AgentRunner>()
    let managerSession: string | null = null
    try {
      for (const agent of options.agents) {
        const session = await haldir.createSession({ agentId: agent.role, scopes: agent.scopes, spendLimit: agent.budget ?? null, parentId: crewSession.id, ttl: parsed.ttl })
        agentSessions[agent.role] = session.id
        runners.set(
          agent,
          createAgentRunner({
            haldir,
            agent,
            sessionId: session.id,
            model: (agent.model ?? options.model) as LanguageModel,
            price: agent.price ?? options.price,
            maxCostPerCall: parsed.maxCostPerModelCall,
            onStep,
          }),
        )
      }
      const delegated: string[] = []
      const tokenUsage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 }
      const addUsage = (usage: TaskOutput['usage']) => {
        tokenUsage.inputTokens += usage.inputTokens
        tokenUsage.outputTokens += usage.outputTokens
        tokenUsage.totalTokens += usage.totalTokens
      }
      const delegateTool = tool({
        description: `Delegate a task to one coworker and get their answer. Coworkers: ${options.agents.map((agent) => agent.role).join(', ')}.`,
        inputSchema: z.object({ coworker: z.string().describe('the role of the coworker'), task: z.string(), context: z.string().optional() }),
        execute: async ({ coworker, task, context }) => {
          const agent = options.agents.find((candidate) => candidate.role.toLowerCase() === coworker.trim().toLowerCase())
          if (!agent) return `No coworker named '${coworker}'. Choose one of: ${options.agents.map((each) => each.role).join(', ')}.`
          delegated.push(agent.role)
          const result = await (runners.get(agent) as AgentRunner).run(context ? `${task}\n\nThis is the context you're working with:\n${context}` : task)
          addUsage(result.usage)
          return result.text
        },
      })

      let manager: AgentRunner | null = null
      if (hierarchical) {
        const managerAgent: CrewAgent = {
          kind: 'haldir.crew.agent',
          role: 'manager',
          goal: 'Get every task done to its expected output by delegating to the right coworker and checking the result.',
          backstory: `You manage a crew of: ${options.agents.map((agent) => `${agent.role} (${agent.goal})`).join('; ')}.`,
          scopes: ['delegate'],
          maxIter: 10,
          tools: { delegate_work: delegateTool },
          toolScopes: { delegate_work: 'delegate' },
        }
        const session = await haldir.createSession({ agentId: 'manager', scopes: ['delegate'], parentId: crewSession.id, ttl: parsed.ttl })
        managerSession = session.id
        manager = createAgentRunner({
          haldir,
          agent: managerAgent,
          sessionId: session.id,
          model: (options.managerModel ?? options.model) as LanguageModel,
          price: options.price,
          maxCostPerCall: parsed.maxCostPerModelCall,
          onStep,
        })
      }
      const outputs = new Map<CrewTask, TaskOutput>()
      const tasksOutput: TaskOutput[] = []
      let stopped: CrewOutput['stopped'] = null

      for (const [index, task] of options.tasks.entries()) {
        const description = fill(task.description, inputs)
        if (stopped || watch.exhausted) {
          stopped ??= { reason: 'budget_exhausted', message: `Crew budget of $${options.budget} is spent; stopped before task ${index + 1} of ${options.tasks.length}.`, beforeTask: index }
          const skipped: TaskOutput = { description, agent: task.agent?.role ?? 'manager', raw: `SKIPPED: ${stopped.message}`, status: 'skipped', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } }
          tasksOutput.push(skipped)
          continue
        }
        const contextTasks = task.context ?? (index > 0 && !hierarchical ? [options.tasks[index - 1] as CrewTask] : [])
        const context = contextTasks.flatMap((each) => {
          const output = outputs.get(each)
          return output && output.status === 'completed' ? [output.raw] : []
        })
        const prompt =
          `${description}\n\nThis is the expected criteria for your final answer: ${fill(task.expectedOutput, inputs)}` +
          (context.length ? `\n\nThis is the context you're working with:\n${context.join('\n\n')}` : '')
        const agentRole = hierarchical ? 'manager' : (task.agent as CrewAgent).role
        await options.onTaskStart?.({ task, index, agent: agentRole })
        delegated.length = 0
        const runner = hierarchical ? (manager as AgentRunner) : (runners.get(task.agent as CrewAgent) as AgentRunner)
        const result = await runner.run(prompt)
        addUsage(result.usage)
        await watch.check()
        const output: TaskOutput = {
          description,
          agent: hierarchical ? (delegated.at(-1) ?? 'manager') : agentRole,
          raw: result.text,
          status: result.blocked ? 'blocked' : 'completed',
          usage: result.usage,
        }
        outputs.set(task, output)
        tasksOutput.push(output)
        await task.callback?.(output)
        await options.onTaskEnd?.({ task, index, output })
      }

      await haldir.revokeSession(crewSession.id, { reason: stopped ? 'crew stopped: budget exhausted' : 'crew finished' })
      const audit: AgentAudit[] = []
      const members = [...options.agents.map((agent) => [agent.role, agentSessions[agent.role] as string] as const), ...(managerSession ? [['manager', managerSession] as const] : [])]
      for (const [role, sessionId] of members) {
        const [trail, spend, verified] = await Promise.all([haldir.getAuditTrail({ sessionId, limit: 10_000 }), haldir.getSpend(sessionId), haldir.verifyAuditTrail(sessionId)])
        audit.push({ role, sessionId, spend, entries: trail.entries, verified: verified.ok })
      }
      const spend = await haldir.getSpend(crewSession.id)
      const completed = tasksOutput.filter((output) => output.status === 'completed')
      const text = formatCrewReport({ crewSpend: spend, agents: audit, tasks: { completed: completed.length, total: tasksOutput.length }, stoppedReason: stopped?.message ?? null })
      return {
        raw: completed.at(-1)?.raw ?? '',
        tasksOutput,
        tokenUsage,
        stopped,
        spend,
        sessions: { crew: crewSession.id, agents: agentSessions, manager: managerSession },
        audit,
        report() {
          console.log(text)
          return text
        },
      }
    } catch (error) {
      // Never leave live sessions behind a failed kickoff.
      await haldir.revokeSession(crewSession.id, { reason: `crew failed: ${errorMessage(error)}` }).catch(() => {})
      throw error
    }
  }

  return { kickoff, agents: options.agents, tasks: options.tasks, process: parsed.process }
}

function fill(template: string, inputs: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (match, key: string) => (key in inputs ? String(inputs[key]) : match))
}
