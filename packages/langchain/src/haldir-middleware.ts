import {
  createGovernor,
  deniedMessage,
  type GovernedCallOptions,
  type Haldir,
  MODEL_CALL_ACTION,
  modelPrice,
  pendingMessage,
  resolveToolPolicy,
  settleModelUsage,
  tokenCost,
  type TokenPrice,
  type ToolPolicyOptions,
  ValidationError,
} from '@haldir/core'
import { checkOptionKeys, errorMessage } from '@haldir/core/backend'
import { AIMessage, ToolMessage } from '@langchain/core/messages'
import { AsyncLocalStorageProviderSingleton } from '@langchain/core/singletons'
import { createMiddleware } from 'langchain'
import { approvalRequest, askPerson, recordAnswer } from './approval-interrupt.ts'
import { blockedToolMessage } from './blocked-tool-message.ts'
import { modelIdOf } from './model-id-of.ts'
import { toTokenUsage } from './to-token-usage.ts'

/** What the middleware hands to `resolveSession`: the agent run's runtime and state. */
export interface SessionSource {
  runtime: { context?: unknown; configurable?: Record<string, unknown> }
  state: unknown
}

export interface HaldirMiddlewareOptions extends ToolPolicyOptions<Record<string, unknown>, ToolMessage | unknown> {
  haldir: Haldir
  /** One session for every run of this agent. */
  sessionId?: string
  /** Or a session per run, from `runtime.context` or `runtime.configurable`. */
  resolveSession?: (source: SessionSource) => string
  /**
   * `'message'`: a refused call never reaches the tool and the model gets an error `ToolMessage`
   * with the reason. `'throw'`: the typed `HaldirError` ends the run. @default 'message'
   */
  onDenied?: 'message' | 'throw'
  /** Record each call's arguments in the audit entry, or map them to details yourself. @default true */
  recordInput?: boolean | ((args: Record<string, unknown>) => Record<string, unknown>)
  /** Seconds a call's hold stays open before its lease ends. @default 900 */
  holdTtl?: number
  /**
   * A call Haldir sends to a person: `'interrupt'` pauses the run (LangGraph `interrupt`, like
   * `humanInTheLoopMiddleware`; needs a checkpointer, else the call waits) and the run resumes
   * with `new Command({ resume: { decisions: [{ type: 'approve' }] } })`; `'wait'` blocks the
   * call until a person decides elsewhere (CLI, dashboard); `'message'` tells the model it waits.
   * @default 'interrupt'
   */
  onPending?: 'interrupt' | 'wait' | 'message'
  /** Who decides in Haldir when a run resumes with a decision that names nobody. @default 'langgraph-user' */
  decidedBy?: string
  /** The client that records those decisions, when `haldir` may not (an approver key over HTTP). @default haldir */
  approver?: Haldir
  /** Meter model calls against the same budget by their token usage. */
  meter?: {
    /**
     * USD per million tokens (input, output, and optionally cached input, cache writes, reasoning).
     * @default the agent model's list price in Haldir's table, by its `model` id; a model it does not know is a `ValidationError` before the call
     */
    price?: TokenPrice
    /** Prices by model id, looked up before Haldir's table. */
    prices?: Readonly<Record<string, TokenPrice>>
    /** Reserved before each model call; the call is refused if the budget cannot hold it. */
    maxCost: number
    /** Name of the model in the audit trail and `byTool`. @default 'model' */
    auditName?: string
    /** @deprecated Use `auditName`; this alias goes in the next minor release. */
    model?: string
  }
}

interface ToolCallInput {
  sessionId: string
  args: Record<string, unknown>
  toolCallId: string
  toolName: string
  /** Set in a checkpointed run: the call's identity across a pause and its resumption. */
  resumeKey: string | undefined
}

/** A tool call's key in a checkpointed run: its thread, its task and its id (all fixed when the task re-runs on resume). */
function resumeKeyOf(toolCallId: string): string | undefined {
  const configurable = AsyncLocalStorageProviderSingleton.getRunnableConfig()?.configurable as Record<string, unknown> | undefined
  const thread = configurable?.thread_id
  const task = configurable?.checkpoint_ns
  if (typeof thread !== 'string' && typeof thread !== 'number') return undefined
  if (typeof task !== 'string' || toolCallId === '') return undefined
  return `lg:${thread}:${task}:${toolCallId}`
}

/**
 * Middleware for `createAgent({ middleware })` that governs every tool call of the agent
 * (`wrapToolCall`): a refused call never reaches the tool and the model gets an error
 * `ToolMessage` with the reason; a tool that throws has its hold released, the error audited,
 * and the model gets an error `ToolMessage` instead of the run failing. With `meter`, model
 * calls are charged to the same budget by token usage (`wrapModelCall`), at the model's list
 * price from Haldir's table unless `meter.price` or `meter.prices` gives one.
 *
 * @example
 * const agent = createAgent({ model, tools, middleware: [haldirMiddleware({ haldir, sessionId, scopes: { search: 'browse' }, costs: { search: 0.01 } })] })
 */
const MIDDLEWARE_OPTIONS = [
  'haldir',
  'sessionId',
  'resolveSession',
  'onDenied',
  'recordInput',
  'holdTtl',
  'onPending',
  'decidedBy',
  'approver',
  'meter',
  'scope',
  'scopes',
  'cost',
  'costs',
  'maxCost',
  'maxCosts',
] as const
const METER_OPTIONS = ['price', 'prices', 'maxCost', 'auditName', 'model'] as const

export function haldirMiddleware(options: HaldirMiddlewareOptions) {
  checkOptionKeys(options, MIDDLEWARE_OPTIONS)
  checkOptionKeys(options.meter, METER_OPTIONS, 'meter')
  const { haldir } = options
  if (options.sessionId === undefined && options.resolveSession === undefined) {
    throw new ValidationError({ issues: [{ path: 'sessionId', message: 'give a sessionId or a resolveSession function' }] })
  }
  const sessionOf = (source: SessionSource): string => options.resolveSession?.(source) ?? (options.sessionId as string)
  const record = options.recordInput ?? true
  const onDenied = options.onDenied ?? 'message'
  if (onDenied !== 'message' && onDenied !== 'throw') throw new ValidationError({ issues: [{ path: 'onDenied', message: "must be 'message' or 'throw'" }] })
  const onPending = options.onPending ?? 'interrupt'
  if (!['interrupt', 'wait', 'message'].includes(onPending)) throw new ValidationError({ issues: [{ path: 'onPending', message: "must be 'interrupt', 'wait' or 'message'" }] })
  const approver = options.approver ?? haldir
  const decidedBy = options.decidedBy ?? 'langgraph-user'
  const governors = new Map<string, ReturnType<typeof createGovernor<ToolCallInput, ToolMessage | unknown>>>()
  const governorFor = (toolName: string) => {
    let governor = governors.get(toolName)
    if (!governor) {
      const { scope, cost, maxCost } = resolveToolPolicy(toolName, options)
      governor = createGovernor<ToolCallInput, ToolMessage | unknown>({
        haldir,
        auditName: toolName,
        scope,
        sessionId: (call) => call.sessionId,
        cost: typeof cost === 'function' ? (call, result) => cost(call.args, result) : cost,
        ...(maxCost === undefined ? {} : { maxCost }),
        ...(options.holdTtl === undefined ? {} : { holdTtl: options.holdTtl }),
        recordInput: (call) => ({ ...(record === true ? { args: call.args } : record === false ? {} : record(call.args)), toolCallId: call.toolCallId }),
        ...(onPending === 'interrupt' ? { idempotencyKey: (call: ToolCallInput) => call.resumeKey } : {}),
        onPending:
          onPending === 'message'
            ? (pending, call) => blockedToolMessage({ content: pendingMessage(pending), toolCallId: call.toolCallId, toolName: call.toolName, code: 'approval_pending' })
            : 'wait',
        onDenied:
          onDenied === 'throw'
            ? 'throw'
            : (decision, call) => blockedToolMessage({ content: deniedMessage(decision), toolCallId: call.toolCallId, toolName: call.toolName, code: decision.error.code }),
      })
      governors.set(toolName, governor)
    }
    return governor
  }

  /**
   * Asks the gate before the tool runs. A call sent to a person pauses the run; when it resumes,
   * the answer is recorded in Haldir and the call goes on with its approval (approved) or the
   * model reads the rejection (the held money released). Without a checkpointer the call waits.
   * A paused call is keyed by its run's thread and task: resumed (in any process), it finds the
   * approval it was sent to instead of holding the money a second time.
   */
  async function pauseIfPending(governor: ReturnType<typeof governorFor>, call: ToolCallInput): Promise<{ callOptions: GovernedCallOptions } | { message: ToolMessage }> {
    const decision = await governor.decide(call)
    if (decision.allowed || decision.pending !== true) return { callOptions: { decision } }
    // The first time this pauses the run (a GraphInterrupt, thrown on); resumed, it is the answer.
    const answer = askPerson(approvalRequest(decision, call.toolName, call.args))
    if (answer === null) return { callOptions: { decision } }
    await recordAnswer(approver, decision.approval.id, answer, decidedBy)
    if (!answer.approved) {
      const content = answer.note ?? `User rejected the tool call for \`${call.toolName}\` with id ${call.toolCallId}`
      return { message: blockedToolMessage({ content, toolCallId: call.toolCallId, toolName: call.toolName, code: 'approval_denied' }) }
    }
    return { callOptions: { approvalId: decision.approval.id } }
  }

  const meter = options.meter
  // Refuse a malformed price now, not at the first model call.
  if (meter?.price !== undefined) tokenCost({}, meter.price)
  if (meter?.prices !== undefined && (typeof meter.prices !== 'object' || meter.prices === null || Array.isArray(meter.prices))) {
    throw new ValidationError({ issues: [{ path: 'meter.prices', message: 'must be an object of prices by model id' }] })
  }
  for (const [model, price] of Object.entries(meter?.prices ?? {})) modelPrice(model, { prices: { [model]: price } })
  const modelName = meter?.auditName ?? meter?.model ?? 'model'
  /** The price of the agent's model: given, or looked up by its id (a model without one is refused before it is called). */
  const priceOf = (model: unknown): TokenPrice => {
    if (meter?.price !== undefined) return meter.price
    const id = modelIdOf(model)
    if (id === undefined) {
      throw new ValidationError({
        message: "The agent's model does not say its model id, so its price cannot be looked up: pass meter.price (USD per million tokens)",
        issues: [{ path: 'meter.price', message: 'is required for a model without a model id' }],
      })
    }
    return modelPrice(id, { prices: meter?.prices })
  }

  return createMiddleware({
    name: 'HaldirMiddleware',
    wrapToolCall: async (request, handler) => {
      const { toolCall } = request
      const call: ToolCallInput = {
        sessionId: sessionOf({ runtime: request.runtime as SessionSource['runtime'], state: request.state }),
        args: toolCall.args,
        toolCallId: toolCall.id ?? '',
        toolName: toolCall.name,
        resumeKey: onPending === 'interrupt' ? resumeKeyOf(toolCall.id ?? '') : undefined,
      }
      const governor = governorFor(toolCall.name)
      try {
        let callOptions: GovernedCallOptions | undefined
        if (onPending === 'interrupt') {
          const paused = await pauseIfPending(governor, call)
          if ('message' in paused) return paused.message as Awaited<ReturnType<typeof handler>>
          callOptions = paused.callOptions
        }
        return (await governor(call, async () => {
          let result: Awaited<ReturnType<typeof handler>>
          try {
            result = await handler(request)
          } catch (error) {
            throw new ToolFailure(error)
          }
          // A tool error the framework already turned into a message is still an error: no charge.
          if (ToolMessage.isInstance(result) && result.status === 'error') throw new ToolFailure(result.content, result)
          return result
        }, callOptions)) as Awaited<ReturnType<typeof handler>>
      } catch (error) {
        // Only the tool's own failures become a message for the model; Haldir's (a backend down) propagate.
        if (!(error instanceof ToolFailure)) throw error
        return error.toolMessage ?? blockedToolMessage({ content: `Error: ${error.message}\n Please fix your mistakes.`, toolCallId: call.toolCallId, toolName: call.toolName })
      }
    },
    ...(meter
      ? {
          wrapModelCall: async (request, handler) => {
            const price = priceOf(request.model)
            const sessionId = sessionOf({ runtime: request.runtime as SessionSource['runtime'], state: request.state })
            const decision = await haldir.gate({ sessionId, tool: modelName, action: MODEL_CALL_ACTION, maxCostUsd: meter.maxCost, details: { kind: 'generate' } })
            if (!decision.allowed) {
              // Ending the run with the reason (no tool calls) stops the loop before any spend.
              return new AIMessage({ content: deniedMessage(decision), response_metadata: { haldir: { blocked: true, code: decision.error.code } } })
            }
            let response: AIMessage
            try {
              response = await handler(request)
            } catch (error) {
              await decision.hold.release({ error, action: MODEL_CALL_ACTION })
              throw error
            }
            const usage = response.usage_metadata
            await settleModelUsage(decision.hold, {
              usage: usage && toTokenUsage(usage),
              price,
              maxCost: meter.maxCost,
              kind: 'generate',
            })
            return response
          },
        }
      : {}),
  })
}

/**
 * Carries a tool's own failure (a throw, or an error `ToolMessage`) through the governor, which
 * releases the hold and audits the error with this message, and tells it apart from Haldir's.
 */
class ToolFailure extends Error {
  readonly toolMessage: ToolMessage | undefined
  constructor(cause: unknown, toolMessage?: ToolMessage) {
    super(typeof cause === 'string' ? cause : errorMessage(cause), { cause })
    this.toolMessage = toolMessage
  }
}
