import type { Haldir, TokenPrice } from '@haldir/core'
import { type LanguageModel, tool } from 'ai'
import { z } from 'zod'
import type { CrewAgent } from './agent.ts'
import { type AgentRunner, createAgentRunner } from './create-agent-runner.ts'
import type { TokenTotals } from './usage-total.ts'

export interface CrewManager {
  runner: AgentRunner
  sessionId: string
  /** Roles delegated to since the last `reset()`, in order. */
  readonly delegated: readonly string[]
  reset(): void
}

/**
 * The manager of a hierarchical crew: an agent of its own session (scope `delegate`, under the
 * crew's) whose one tool, `delegate_work`, runs a coworker on a sub-task. Delegation is a
 * governed tool call like any other, and the coworker's own calls are governed by its session.
 */
export async function createManager(options: {
  haldir: Haldir
  crewSessionId: string
  agents: readonly CrewAgent[]
  runners: ReadonlyMap<CrewAgent, AgentRunner>
  model: LanguageModel
  price: TokenPrice | undefined
  maxCostPerModelCall: number
  ttl: number
  onStep: (refusals: unknown[]) => Promise<void>
  onUsage: (usage: TokenTotals) => void
}): Promise<CrewManager> {
  const { agents } = options
  const delegated: string[] = []
  const roles = agents.map((agent) => agent.role).join(', ')
  const delegateWork = tool({
    description: `Delegate a task to one coworker and get their answer. Coworkers: ${roles}.`,
    inputSchema: z.object({ coworker: z.string().describe('the role of the coworker'), task: z.string(), context: z.string().optional() }),
    execute: async ({ coworker, task, context }) => {
      const agent = agents.find((candidate) => candidate.role.toLowerCase() === coworker.trim().toLowerCase())
      if (!agent) return `No coworker named '${coworker}'. Choose one of: ${roles}.`
      delegated.push(agent.role)
      const result = await (options.runners.get(agent) as AgentRunner).run(context ? `${task}\n\nThis is the context you're working with:\n${context}` : task)
      options.onUsage(result.usage)
      return result.text
    },
  })
  const manager: CrewAgent = {
    kind: 'haldir.crew.agent',
    role: 'manager',
    goal: 'Get every task done to its expected output by delegating to the right coworker and checking the result.',
    backstory: `You manage a crew of: ${agents.map((agent) => `${agent.role} (${agent.goal})`).join('; ')}.`,
    scopes: ['delegate'],
    maxIter: 10,
    tools: { delegate_work: delegateWork },
    toolScopes: { delegate_work: 'delegate' },
  }
  const session = await options.haldir.createSession({ agentId: 'manager', scopes: ['delegate'], parentId: options.crewSessionId, ttl: options.ttl })
  const runner = createAgentRunner({
    haldir: options.haldir,
    agent: manager,
    sessionId: session.id,
    model: options.model,
    price: options.price,
    maxCostPerCall: options.maxCostPerModelCall,
    onStep: options.onStep,
  })
  return {
    runner,
    sessionId: session.id,
    delegated,
    reset: () => {
      delegated.length = 0
    },
  }
}
