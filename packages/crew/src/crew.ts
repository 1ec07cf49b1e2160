import { type Approval, type ApprovalRule, createHaldir, type Haldir, type Spend, type TokenPrice, ValidationError } from '@haldir/core'
import { approvalRuleSchema, checkOptionKeys, errorMessage, parseInput } from '@haldir/core/backend'
import type { LanguageModel } from 'ai'
import { z } from 'zod'
import type { CrewAgent } from './agent.ts'
import type { PendingCall } from './approval-answers.ts'
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
  /**
   * Calls that wait for a person: rules for every agent (each agent may add its own), and what
   * a waiting agent does: `'wait'` for the decision (a timeout denies, and the model is told),
   * or `'stop'` the crew with the pending approvals, to `kickoff({ resume })` once decided.
   */
  approvals?: { rules?: ApprovalRule[]; onPending?: 'wait' | 'stop' }
}

/**
 * Where a crew stopped for approvals: its sessions (still live, the money held) and the
 * conversation of the task that waits. Plain JSON: keep it anywhere and resume in any process.
 */
export interface CrewCheckpoint {
  kind: 'haldir.crew.checkpoint'
  crewSessionId: string
  agentSessions: Record<string, string>
  /** The task that waits, and the outputs of the tasks before it. */
  taskIndex: number
  tasksOutput: TaskOutput[]
  messages: unknown[]
  pending: PendingCall[]
}

export interface CrewOutput {
  /** The last completed task's answer. */
  raw: string
  tasksOutput: TaskOutput[]
  tokenUsage: { inputTokens: number; outputTokens: number; totalTokens: number }
  /** Why the crew stopped before its last task, or `null`. */
  stopped:
    | { reason: 'budget_exhausted'; message: string; beforeTask: number }
    | { reason: 'approval_pending'; message: string; beforeTask: number; approvals: Approval[] }
    | null
  /** Set when the crew stopped for approvals: pass it to `kickoff({ resume })` once they are decided. */
  resume: CrewCheckpoint | null
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
  kickoff(options?: { inputs?: Record<string, string | number>; resume?: CrewCheckpoint }): Promise<CrewOutput>
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
  'approvals',
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
  checkOptionKeys(options.approvals, ['rules', 'onPending'], 'crew.approvals')
  for (const [index, rule] of (options.approvals?.rules ?? []).entries()) parseInput(approvalRuleSchema, rule, `crew.approvals.rules.${index}`)
  const onPending = options.approvals?.onPending ?? 'wait'
  if (onPending !== 'wait' && onPending !== 'stop') throw new ValidationError({ issues: [{ path: 'crew.approvals.onPending', message: "must be 'wait' or 'stop'" }] })
  // A delegated coworker's run sits inside the manager's tool call: it can wait, not stop.
  if (onPending === 'stop' && parsed.process === 'hierarchical') {
    throw new ValidationError({ issues: [{ path: 'crew.approvals.onPending', message: "'stop' needs a sequential crew; a hierarchical crew waits" }] })
  }

  async function kickoff(kickoffOptions: { inputs?: Record<string, string | number>; resume?: CrewCheckpoint } = {}): Promise<CrewOutput> {
    checkOptionKeys(kickoffOptions, ['inputs', 'resume'], 'kickoff')
    const resume = kickoffOptions.resume
    if (resume !== undefined) checkCheckpoint(resume)
    if (resume !== undefined && !options.haldir) {
      throw new ValidationError({ issues: [{ path: 'kickoff.resume', message: 'resuming needs the crew to name its haldir (the sessions live there)' }] })
    }
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
        approvalRules: options.approvals?.rules ?? [],
        onPending,
        alerts: [...new Set(parsed.budgetThresholds)],
        ...(resume ? { existing: { crewSessionId: resume.crewSessionId, agentSessions: resume.agentSessions } } : {}),
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
      let checkpoint: CrewCheckpoint | null = null
      if (resume) {
        for (const [index, output] of resume.tasksOutput.entries()) {
          outputs.set(options.tasks[index] as CrewTask, output)
          tasksOutput.push(output)
        }
      }

      for (const [index, task] of options.tasks.entries()) {
        if (resume && index < resume.taskIndex) continue
        const description = fillInputs(task.description, inputs)
        if (checkpoint) {
          tasksOutput.push({ description, agent: task.agent?.role ?? 'manager', raw: 'WAITING: the crew stopped for approvals before this task', status: 'skipped', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } })
          continue
        }
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
        const goingOn = resume && index === resume.taskIndex ? resume : undefined
        if (goingOn) {
          // Resumed before anyone decided: the crew stops again where it was, nothing spent twice.
          const still = await Promise.all(goingOn.pending.map((call) => haldir.getApproval(call.approval.id)))
          if (still.some((approval) => approval.status === 'pending')) {
            checkpoint = goingOn
            stopped = { reason: 'approval_pending', message: approvalsMessage(still), beforeTask: index, approvals: still }
            tasksOutput.push(waitingOutput(description, agentRole, still))
            continue
          }
        }
        const result = await runner.run(prompt, goingOn ? { messages: goingOn.messages as never, pending: goingOn.pending } : undefined)
        usage.add(result.usage)
        if (result.waiting) {
          const approvals = result.waiting.pending.map((call) => call.approval)
          checkpoint = {
            kind: 'haldir.crew.checkpoint',
            crewSessionId: opened.crewSessionId,
            agentSessions: opened.agentSessions,
            taskIndex: index,
            tasksOutput: [...tasksOutput],
            messages: result.waiting.messages,
            pending: result.waiting.pending,
          }
          stopped = { reason: 'approval_pending', message: approvalsMessage(approvals), beforeTask: index, approvals }
          tasksOutput.push(waitingOutput(description, agentRole, approvals))
          continue
        }
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

      // A crew waiting for approvals keeps its sessions (and the money its calls hold) for the resume.
      if (!checkpoint) await haldir.revokeSession(opened.crewSessionId, { reason: stopped ? 'crew stopped: budget exhausted' : 'crew finished' })
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
        resume: checkpoint,
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
    } finally {
      watch?.close()
    }
  }

  /** A checkpoint of this crew (its shape, its task count, an agent session per role). */
  function checkCheckpoint(resume: CrewCheckpoint): void {
    const problem =
      typeof resume !== 'object' || resume === null || resume.kind !== 'haldir.crew.checkpoint'
        ? 'is not a checkpoint from kickoff()'
        : !Number.isInteger(resume.taskIndex) || resume.taskIndex < 0 || resume.taskIndex >= options.tasks.length
          ? `names task ${String(resume.taskIndex)}, but the crew has ${options.tasks.length}`
          : options.agents.some((agent) => typeof resume.agentSessions?.[agent.role] !== 'string')
            ? 'has no session for every agent of this crew'
            : !Array.isArray(resume.pending) || !Array.isArray(resume.messages) || !Array.isArray(resume.tasksOutput)
              ? 'is incomplete'
              : null
    if (problem) throw new ValidationError({ issues: [{ path: 'kickoff.resume', message: problem }] })
  }

  return { kickoff, agents: options.agents, tasks: options.tasks, process: parsed.process }
}

function approvalsMessage(approvals: readonly Approval[]): string {
  return `Waiting for approval: ${approvals.map((approval) => `${approval.id} (${approval.tool}, $${approval.amountUsd}: ${approval.reason})`).join('; ')}. Decide them, then kickoff({ resume }).`
}

function waitingOutput(description: string, agent: string, approvals: readonly Approval[]): TaskOutput {
  return { description, agent, raw: `WAITING: ${approvalsMessage(approvals)}`, status: 'waiting', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } }
}
