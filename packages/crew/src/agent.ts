import type { ApprovalRule, TokenPrice } from '@haldir/core'
import { approvalRuleSchema, checkOptionKeys, parseInput, scopeSchema } from '@haldir/core/backend'
import type { LanguageModel } from 'ai'
import { z } from 'zod'
import { type CrewTools, toToolSet } from './to-ai-tool.ts'

export interface AgentOptions {
  role: string
  goal: string
  backstory?: string
  /** AI SDK tools, LangChain tools, or both. */
  tools?: CrewTools
  /** Any AI SDK model; the crew's `model` when omitted. */
  model?: LanguageModel
  /** What the agent may do; its session's scopes (a subset of the crew's). @default [] */
  scopes?: string[]
  /** USD the agent may spend; counted against the crew budget too. @default no own limit */
  budget?: number
  /** Most model steps per task. @default 8 */
  maxIter?: number
  /** Scope each tool needs; a tool not listed needs the scope named after it. */
  toolScopes?: Record<string, string | null>
  /** USD per call, by tool. @default 0 */
  toolCosts?: Record<string, number>
  /** Token prices: model calls are then metered against the budget. @default the crew's */
  price?: TokenPrice
  /** Calls of this agent that wait for a person, besides the crew's rules. */
  approvalRules?: ApprovalRule[]
}

export interface CrewAgent extends Omit<AgentOptions, 'tools'> {
  readonly kind: 'haldir.crew.agent'
  readonly tools: ReturnType<typeof toToolSet>
  readonly scopes: string[]
  readonly maxIter: number
}

const AGENT_OPTIONS = ['role', 'goal', 'backstory', 'tools', 'model', 'scopes', 'budget', 'maxIter', 'toolScopes', 'toolCosts', 'price', 'approvalRules'] as const

const agentSchema = z.looseObject({
  role: z.string().min(1),
  goal: z.string().min(1),
  backstory: z.string().optional(),
  scopes: z.array(scopeSchema).default([]),
  budget: z.number().nonnegative().optional(),
  maxIter: z.number().int().positive().max(100).default(8),
  toolScopes: z.record(z.string(), scopeSchema.nullable()).optional(),
  toolCosts: z.record(z.string(), z.number().nonnegative()).optional(),
})

/**
 * An agent of a crew, CrewAI-style. Each gets its own Haldir session at kickoff, with these
 * scopes and budget, under the crew's session.
 *
 * @example
 * const researcher = Agent({ role: 'researcher', goal: 'Find sources', tools: { webSearch }, scopes: ['read', 'browse'], budget: 5 })
 */
export function Agent(options: AgentOptions): CrewAgent {
  checkOptionKeys(options, AGENT_OPTIONS, 'agent')
  const parsed = parseInput(agentSchema, options, 'agent')
  for (const [index, rule] of (options.approvalRules ?? []).entries()) parseInput(approvalRuleSchema, rule, `agent.approvalRules.${index}`)
  return { ...options, ...parsed, kind: 'haldir.crew.agent', tools: toToolSet(options.tools) }
}
