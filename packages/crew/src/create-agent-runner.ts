import { withHaldir, meterModel } from '@haldir/ai-sdk'
import { BudgetExceededError, type Haldir, HaldirPermissionError, type TokenPrice } from '@haldir/core'
import { generateText, type LanguageModel, type ModelMessage, RetryError, stepCountIs } from 'ai'
import type { CrewAgent } from './agent.ts'
import { answersMessage, type PendingCall, pendingCalls } from './approval-answers.ts'
import { runInCrewContext } from './crew-context.ts'

export interface AgentRunner {
  /**
   * Runs the agent on one prompt, governed by its session; or goes on with a conversation that
   * stopped for approvals (`messages`), answering each from where its Haldir approval stands.
   */
  run(prompt: string, resume?: { messages: ModelMessage[]; pending: PendingCall[] }): Promise<AgentRunResult>
}

export interface AgentRunResult {
  text: string
  usage: { inputTokens: number; outputTokens: number; totalTokens: number }
  /** Set when a refusal (the model call itself, say) ended the run early. */
  blocked: HaldirPermissionError | null
  /** Calls waiting for a person when the run stopped for them (`onPending: 'stop'`), with the conversation so far. */
  waiting: { messages: ModelMessage[]; pending: PendingCall[] } | null
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
  /** A call sent to a person: wait for the decision, or stop the run with it. @default 'wait' */
  onPending?: 'wait' | 'stop'
}): AgentRunner {
  const { haldir, agent, sessionId } = options
  const tools = withHaldir(agent.tools, { haldir, sessionId, ...(agent.toolScopes ? { scopes: agent.toolScopes } : {}), ...(agent.toolCosts ? { costs: agent.toolCosts } : {}) })
  const model = options.price
    ? meterModel(options.model, { haldir, sessionId, price: options.price, maxCost: options.maxCostPerCall, auditName: modelName(options.model) })
    : options.model
  const system = `You are ${agent.role}. ${agent.backstory ?? ''}\nYour personal goal is: ${agent.goal}`.trim()
  const context = { haldir, sessionId, role: agent.role, getSecret: (name: string) => haldir.getSecret(name, { sessionId }) }

  const totals = () => ({ inputTokens: 0, outputTokens: 0, totalTokens: 0 })

  return {
    async run(prompt, resume) {
      const usage = totals()
      let messages: ModelMessage[] = resume ? [...resume.messages, answersMessage(await settled(resume.pending))] : [{ role: 'user', content: prompt }]
      try {
        for (;;) {
          const result = await runInCrewContext(context, () =>
            generateText({
              model,
              system,
              messages,
              tools,
              stopWhen: stepCountIs(agent.maxIter),
              onStepEnd: async (step) => {
                const refusals = step.content.flatMap((part) => (part.type === 'tool-error' ? [part.error] : []))
                await options.onStep(refusals)
              },
            }),
          )
          usage.inputTokens += result.totalUsage.inputTokens ?? 0
          usage.outputTokens += result.totalUsage.outputTokens ?? 0
          usage.totalTokens += result.totalUsage.totalTokens ?? 0
          const pending = await pendingCalls(haldir, sessionId, result.steps.at(-1)?.content ?? [])
          if (pending.length === 0) return { text: result.text, usage, blocked: null, waiting: null }
          messages = [...messages, ...result.response.messages]
          if (options.onPending === 'stop') return { text: '', usage, blocked: null, waiting: { messages, pending } }
          // The call waits for its decision (or its deadline, which denies unless its rules say otherwise).
          const decided = await Promise.all(pending.map(async (call) => ({ ...call, approval: await haldir.waitForApproval(call.approval.id) })))
          messages = [...messages, answersMessage(decided)]
        }
      } catch (caught) {
        const error = RetryError.isInstance(caught) ? caught.lastError : caught
        if (!HaldirPermissionError.isInstance(error)) throw error
        await options.onStep([error])
        return { text: `BLOCKED: ${error.message}`, usage, blocked: error, waiting: null }
      }
    },
  }

  /** Where each approval stands now (one still pending is answered as not approved only once it is decided). */
  async function settled(pending: readonly PendingCall[]): Promise<PendingCall[]> {
    return Promise.all(pending.map(async (call) => ({ ...call, approval: await haldir.getApproval(call.approval.id) })))
  }
}

/** Whether a refusal came from the crew's own limit (so the whole crew is out of money). */
export function isCrewLimitRefusal(error: unknown, crewSessionId: string): boolean {
  return BudgetExceededError.isInstance(error) && error.limitingSessionId === crewSessionId
}

function modelName(model: LanguageModel): string {
  return typeof model === 'string' ? model : model.modelId
}
