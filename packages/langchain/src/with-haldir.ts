import { createGovernor, deniedMessage, type Haldir, resolveToolPolicy, type ToolCost, ValidationError } from '@haldir/core'
import { checkOptionKeys } from '@haldir/core/backend'
import type { CallbackManagerForToolRun } from '@langchain/core/callbacks/manager'
import type { StructuredToolInterface } from '@langchain/core/tools'
import type { ToolRunnableConfig } from '@langchain/core/tools'
import { blockedToolMessage } from './blocked-tool-message.ts'

export interface HaldirToolOptions {
  haldir: Haldir
  /** The session charged for this tool; a function picks one per call (from `config.configurable`, say). */
  sessionId: string | ((input: unknown, config: ToolRunnableConfig) => string)
  /** The scope the session must hold; `null` for liveness and budget only. @default the tool's name */
  scope?: string | null
  /** USD per call, or from the parsed input and the result (then `maxCost` is reserved first). @default 0 */
  cost?: ToolCost<unknown, unknown>
  /** Reserved before a tool whose cost is a function. @default 1 */
  maxCost?: number
  /**
   * `'message'`: a refusal becomes an error `ToolMessage` (called with a tool call) or a
   * `BLOCKED: …` string (called with plain arguments), so the agent loop goes on and the model
   * sees why. `'throw'`: the typed `HaldirError` is thrown. @default 'message'
   */
  onDenied?: 'message' | 'throw'
  /** Name in the audit trail and `byTool`. @default the tool's name */
  auditName?: string
  /** Record the parsed input in the audit entry, or map it to details yourself. @default true */
  recordInput?: boolean | ((input: unknown) => Record<string, unknown>)
  /** @deprecated Use `recordInput`; this alias goes in the next minor release. */
  recordArgs?: boolean
  /** Seconds a call's hold stays open before its lease ends. @default 900 */
  holdTtl?: number
}

const TOOL_OPTIONS = ['haldir', 'sessionId', 'scope', 'cost', 'maxCost', 'onDenied', 'auditName', 'recordInput', 'recordArgs', 'holdTtl'] as const

interface ToolInternals {
  _call(input: unknown, runManager?: CallbackManagerForToolRun, config?: ToolRunnableConfig): Promise<unknown>
  responseFormat?: string
}

interface GovernedCall {
  input: unknown
  config: ToolRunnableConfig
}

/**
 * Governs a LangChain tool (`tool()`, `DynamicStructuredTool`, any `StructuredTool`): the
 * result is the same tool — same class, name, description, schema and response format — whose
 * every run first passes Haldir's gate (scope, liveness, budget, one backend call), then is
 * settled and audited. Works with `tool.invoke(args)`, `tool.invoke(toolCall)` and inside agents.
 *
 * @example
 * const search = withHaldir(searchTool, { haldir, sessionId: session.id, scope: 'browse', cost: 0.01 })
 * const agent = createAgent({ model, tools: [search] })
 */
export function withHaldir<T extends StructuredToolInterface>(tool: T, options: HaldirToolOptions): T {
  const original = tool as unknown as T & ToolInternals
  if (typeof original?._call !== 'function' || typeof original.name !== 'string') {
    throw new ValidationError({ issues: [{ path: 'tool', message: 'must be a LangChain tool (tool(), DynamicStructuredTool or a StructuredTool)' }] })
  }
  checkOptionKeys(options, TOOL_OPTIONS)
  const onDenied = options.onDenied ?? 'message'
  const pickSession = options.sessionId
  const policy = resolveToolPolicy(original.name, options)
  const userCost = policy.cost
  const record = options.recordInput ?? options.recordArgs ?? true
  const pair = original.responseFormat === 'content_and_artifact'
  const govern = createGovernor<GovernedCall, unknown>({
    haldir: options.haldir,
    auditName: options.auditName ?? original.name,
    scope: policy.scope,
    sessionId: typeof pickSession === 'function' ? (call) => pickSession(call.input, call.config) : pickSession,
    cost: typeof userCost === 'function' ? (call, result) => userCost(call.input, result) : userCost,
    ...(policy.maxCost === undefined ? {} : { maxCost: policy.maxCost }),
    ...(options.holdTtl === undefined ? {} : { holdTtl: options.holdTtl }),
    // One object per call, no spreads: this runs before every governed tool call.
    recordInput: (call) => {
      const details: Record<string, unknown> = record === true ? { args: call.input } : record === false ? {} : { ...record(call.input) }
      const toolCallId = call.config.toolCall?.id
      if (toolCallId) details.toolCallId = toolCallId
      return details
    },
    onDenied:
      onDenied === 'throw'
        ? 'throw'
        : (decision, call) => {
            const toolCallId = call.config.toolCall?.id
            const answer = toolCallId
              ? blockedToolMessage({ content: deniedMessage(decision), toolCallId, toolName: original.name, code: decision.error.code })
              : deniedMessage(decision)
            // A content-and-artifact tool must answer with a pair; a ToolMessage passes through as is.
            return pair ? [answer, undefined] : answer
          },
  })
  // A live view of the original: everything is inherited (class, fields, schema), only the run is gated.
  const governed = Object.create(original) as T & ToolInternals
  governed._call = function governedCall(input, runManager, config = {}) {
    return govern({ input, config }, () => original._call.call(this, input, runManager, config))
  }
  return governed
}
