import { createHaldir, type Haldir, type Spend, type TokenPrice, ValidationError } from '@haldir/core'
import { checkOptionKeys, errorMessage, parseInput } from '@haldir/core/backend'
import type { LanguageModel } from 'ai'
import { z } from 'zod'
import type { CrewAgent } from './agent.ts'
import { type BudgetEvent, type BudgetWatch, createBudgetWatch } from './budget-watch.ts'
import { collectAudit } from './collect-audit.ts'
import { type AgentRunner, isCrewLimitRefusal } from './create-agent-runner.ts'
import { createManager } from './create-manager.ts'
import { type AgentAudit, formatCrewReport } from './format-crew-report.ts'
import { openCrewSessions } from './open-crew-sessions.ts'
import type { CrewTask, TaskOutput } from './task.ts'
import { fillInputs, taskPrompt } from './task-prompt.ts'
import { createUsageTotal } from './usage-total.ts'

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

/** A crew, CrewAI-style: its agents, its tasks, and `kickoff()` to run them governed. */
export interface Crew {
  kickoff(options?: { inputs?: Record<string, string | number> }): Promise<CrewOutput>
  readonly agents: readonly CrewAgent[]
  readonly tasks: readonly CrewTask[]
  readonly process: 'sequential' | 'hierarchical'
}

const CREW_OPTIONS = [
  'agents',
  'tasks',
  'process',
  'managerModel',
  'model',
  'budget',
  'ttl',
  'haldir',
  'price',
  'maxCostPerModelCall',
  'budgetThresholds',
  'name',
  'onTaskStart',
  'onTaskEnd',
  'onBudget',
] as const

const crewSchema = z.looseObject({
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
export function Crew(options: CrewOptions): Crew {
  checkOptionKeys(options, CREW_OPTIONS, 'crew')
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
    const usage = createUsageTotal()
    let crewSessionId: string | undefined
    let watch: BudgetWatch | undefined
    const onStep = async (refusals: unknown[]) => {
      if (!watch) return
      if (refusals.some((error) => isCrewLimitRefusal(error, crewSessionId as string))) await watch.exhaust()
      else await watch.check()
    }
    try {
      const opened = await openCrewSessions({
        haldir,
        name: parsed.name,
        agents: options.agents,
        extraScopes: hierarchical ? ['delegate'] : [],
        budget: options.budget,
        ttl: parsed.ttl,
        model: options.model,
        price: options.price,
        maxCostPerModelCall: parsed.maxCostPerModelCall,
        onStep,
        onCrewSession: (id) => {
          crewSessionId = id
          watch = createBudgetWatch({ haldir, crewSessionId: id, thresholds: parsed.budgetThresholds, onBudget: options.onBudget })
        },
      })
      const budgetWatch = watch as BudgetWatch
      const manager = hierarchical
        ? await createManager({
            haldir,
            crewSessionId: opened.crewSessionId,
            agents: options.agents,
            runners: opened.runners,
            model: (options.managerModel ?? options.model) as LanguageModel,
            price: options.price,
            maxCostPerModelCall: parsed.maxCostPerModelCall,
            ttl: parsed.ttl,
            onStep,
            onUsage: usage.add,
          })
        : null
      const outputs = new Map<CrewTask, TaskOutput>()
      const tasksOutput: TaskOutput[] = []
      let stopped: CrewOutput['stopped'] = null

      for (const [index, task] of options.tasks.entries()) {
        const description = fillInputs(task.description, inputs)
        if (stopped || budgetWatch.exhausted) {
          stopped ??= { reason: 'budget_exhausted', message: `Crew budget of $${options.budget} is spent; stopped before task ${index + 1} of ${options.tasks.length}.`, beforeTask: index }
          tasksOutput.push({ description, agent: task.agent?.role ?? 'manager', raw: `SKIPPED: ${stopped.message}`, status: 'skipped', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } })
          continue
        }
        const prompt = taskPrompt({
          description,
          expectedOutput: fillInputs(task.expectedOutput, inputs),
          contextTasks: task.context ?? (index > 0 && !hierarchical ? [options.tasks[index - 1] as CrewTask] : []),
          outputs,
        })
        const agentRole = manager ? 'manager' : (task.agent as CrewAgent).role
        await options.onTaskStart?.({ task, index, agent: agentRole })
        manager?.reset()
        const runner = manager ? manager.runner : (opened.runners.get(task.agent as CrewAgent) as AgentRunner)
        const result = await runner.run(prompt)
        usage.add(result.usage)
        await budgetWatch.check()
        const output: TaskOutput = {
          description,
          agent: manager ? (manager.delegated.at(-1) ?? 'manager') : agentRole,
          raw: result.text,
          status: result.blocked ? 'blocked' : 'completed',
          usage: result.usage,
        }
        outputs.set(task, output)
        tasksOutput.push(output)
        await task.callback?.(output)
        await options.onTaskEnd?.({ task, index, output })
      }

      await haldir.revokeSession(opened.crewSessionId, { reason: stopped ? 'crew stopped: budget exhausted' : 'crew finished' })
      const members = [
        ...options.agents.map((agent) => [agent.role, opened.agentSessions[agent.role] as string] as const),
        ...(manager ? [['manager', manager.sessionId] as const] : []),
      ]
      const audit = await collectAudit(haldir, members)
      const spend = await haldir.getSpend(opened.crewSessionId)
      const completed = tasksOutput.filter((output) => output.status === 'completed')
      const text = formatCrewReport({ crewSpend: spend, agents: audit, tasks: { completed: completed.length, total: tasksOutput.length }, stoppedReason: stopped?.message ?? null })
      return {
        raw: completed.at(-1)?.raw ?? '',
        tasksOutput,
        tokenUsage: usage.totals,
        stopped,
        spend,
        sessions: { crew: opened.crewSessionId, agents: opened.agentSessions, manager: manager?.sessionId ?? null },
        audit,
        report() {
          console.log(text)
          return text
        },
      }
    } catch (error) {
      // Never leave live sessions behind a failed kickoff.
      if (crewSessionId !== undefined) await haldir.revokeSession(crewSessionId, { reason: `crew failed: ${errorMessage(error)}` }).catch(() => {})
      throw error
    }
  }

  return { kickoff, agents: options.agents, tasks: options.tasks, process: parsed.process }
}
