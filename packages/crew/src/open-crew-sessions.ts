import type { ApprovalRule, Haldir, TokenPrice } from '@haldir/core'
import type { LanguageModel } from 'ai'
import type { CrewAgent } from './agent.ts'
import { type AgentRunner, createAgentRunner } from './create-agent-runner.ts'

export interface CrewSessions {
  crewSessionId: string
  /** Session id by agent role. */
  agentSessions: Record<string, string>
  runners: Map<CrewAgent, AgentRunner>
}

/**
 * Opens the crew's sessions: one holding the crew budget (its scopes the union of the agents'),
 * and one child per agent with the agent's scopes and budget, each bound to a runner that governs
 * the agent's tools and meters its model by that session.
 */
export async function openCrewSessions(options: {
  haldir: Haldir
  name: string
  agents: readonly CrewAgent[]
  extraScopes: readonly string[]
  budget: number | undefined
  ttl: number
  model: LanguageModel | undefined
  price: TokenPrice | undefined
  maxCostPerModelCall: number
  onStep: (refusals: unknown[]) => Promise<void>
  /** Called with the crew session as soon as it exists, so a failure after it can close it. */
  onCrewSession: (crewSessionId: string) => void
  /** Calls of every agent that wait for a person (the crew session's rules, inherited by each agent's). */
  approvalRules: ApprovalRule[]
  onPending: 'wait' | 'stop'
  /** Fractions of the crew budget at which the engine raises `threshold.crossed` for the crew session. */
  alerts: readonly number[]
  /** The sessions of a crew that stopped for approvals: its agents go on in them. */
  existing?: { crewSessionId: string; agentSessions: Record<string, string> }
}): Promise<CrewSessions> {
  const { haldir, existing } = options
  const crewScopes = [...new Set([...options.agents.flatMap((agent) => agent.scopes), ...options.extraScopes])]
  const crewId =
    existing?.crewSessionId ??
    (await haldir.createSession({ agentId: options.name, scopes: crewScopes, spendLimit: options.budget ?? null, ttl: options.ttl, metadata: { kind: 'crew' }, approvalRules: options.approvalRules, alerts: options.budget === undefined ? [] : [...options.alerts] })).id
  options.onCrewSession(crewId)
  const agentSessions: Record<string, string> = {}
  const runners = new Map<CrewAgent, AgentRunner>()
  for (const agent of options.agents) {
    const sessionId =
      existing?.agentSessions[agent.role] ??
      (await haldir.createSession({ agentId: agent.role, scopes: agent.scopes, spendLimit: agent.budget ?? null, parentId: crewId, ttl: options.ttl, approvalRules: agent.approvalRules ?? [] })).id
    const session = { id: sessionId }
    agentSessions[agent.role] = session.id
    runners.set(
      agent,
      createAgentRunner({
        haldir,
        agent,
        sessionId: session.id,
        model: (agent.model ?? options.model) as LanguageModel,
        price: agent.price ?? options.price,
        maxCostPerCall: options.maxCostPerModelCall,
        onStep: options.onStep,
        onPending: options.onPending,
      }),
    )
  }
  return { crewSessionId: crewId, agentSessions, runners }
}
