import type { Haldir, TokenPrice } from '@haldir/core'
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
}): Promise<CrewSessions> {
  const { haldir } = options
  const crewScopes = [...new Set([...options.agents.flatMap((agent) => agent.scopes), ...options.extraScopes])]
  const crew = await haldir.createSession({ agentId: options.name, scopes: crewScopes, spendLimit: options.budget ?? null, ttl: options.ttl, metadata: { kind: 'crew' } })
  options.onCrewSession(crew.id)
  const agentSessions: Record<string, string> = {}
  const runners = new Map<CrewAgent, AgentRunner>()
  for (const agent of options.agents) {
    const session = await haldir.createSession({ agentId: agent.role, scopes: agent.scopes, spendLimit: agent.budget ?? null, parentId: crew.id, ttl: options.ttl })
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
      }),
    )
  }
  return { crewSessionId: crew.id, agentSessions, runners }
}
