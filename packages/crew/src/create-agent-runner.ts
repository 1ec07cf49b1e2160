import { withHaldir, meterModel } from '@haldir/ai-sdk'
import { BudgetExceededError, type Haldir, HaldirPermissionError, type TokenPrice } from '@haldir/core'
import { generateText, type LanguageModel, RetryError, stepCountIs } from 'ai'
import type { CrewAgent } from './agent.ts'
import { runInCrewContext } from './crew-context.ts'

export interface AgentRunner {
  /** Runs the agent on one prompt, governed by its session. */
  run(prompt: string): Promise<AgentRunResult>
}

export interface AgentRunResult {
  text: string
  usage: { inputTokens: number; outputTokens: number; totalTokens: number }
  /** Set when a refusal (the model call itself, say) ended the run early. */
  blocked: HaldirPermissionError | null
}

/**
 * Binds an agent to its session once per kickoff: its tools governed by that session
 * (refusals reach the model as tool errors), its model metered against it when a price is known.
 */
export function createAgentRunner(options: {
  haldir: Haldir
  agent: CrewAgent
  sessionId: string
  model: LanguageModel
  price: TokenPrice | undefined
  maxCostPerCall: number
  /** After each model step, with every refusal that step's tools met. */
  onStep: (refusals: unknown[]) => Promise<void>
}): AgentRunner {
  const { haldir, agent, sessionId } = options
  const tools = withHaldir(agent.tools, { haldir, sessionId, ...(agent.toolScopes ? { scopes: agent.toolScopes } : {}), ...(agent.toolCosts ? { costs: agent.toolCosts } : {}) })
  const model = options.price
    ? meterModel(options.model, { haldir, sessionId, price: options.price, maxCost: options.maxCostPerCall, auditName: modelName(options.model) })
    : options.model
  const system = `You are ${agent.role}. ${agent.backstory ?? ''}\nYour personal goal is: ${agent.goal}`.trim()
  const context = { haldir, sessionId, role: agent.role, getSecret: (name: string) => haldir.getSecret(name, { sessionId }) }

  return {
    async run(prompt) {
      try {
        const result = await runInCrewContext(context, () =>
          generateText({
            model,
            system,
            prompt,
            tools,
            stopWhen: stepCountIs(agent.maxIter),
            onStepEnd: async (step) => {
              const refusals = step.content.flatMap((part) => (part.type === 'tool-error' ? [part.error] : []))
              await options.onStep(refusals)
            },
          }),
        )
        const usage = result.totalUsage
        return {
          text: result.text,
          usage: { inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0, totalTokens: usage.totalTokens ?? 0 },
          blocked: null,
        }
      } catch (caught) {
        const error = RetryError.isInstance(caught) ? caught.lastError : caught
        if (!HaldirPermissionError.isInstance(error)) throw error
        await options.onStep([error])
        return { text: `BLOCKED: ${error.message}`, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 }, blocked: error }
      }
    },
  }
}

/** Whether a refusal came from the crew's own limit (so the whole crew is out of money). */
export function isCrewLimitRefusal(error: unknown, crewSessionId: string): boolean {
  return BudgetExceededError.isInstance(error) && error.limitingSessionId === crewSessionId
}

function modelName(model: LanguageModel): string {
  return typeof model === 'string' ? model : model.modelId
}
