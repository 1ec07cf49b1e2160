import { createGovernor, deniedMessage, type Governor, type Haldir, ValidationError } from '@haldir/core'
import type { Tool, ToolExecutionOptions, ToolSet } from 'ai'

/** A cost in USD: fixed, or from the tool's input and output (then `maxCost` is reserved first). */
export type ToolCost = number | ((input: unknown, output: unknown) => number)

interface SharedOptions {
  haldir: Haldir
  /** The session charged; a function picks one per call (from the tool's `context`, say). */
  sessionId: string | ((options: ToolExecutionOptions<unknown>) => string)
  /** Reserved before a tool whose cost is a function. @default 1 */
  maxCost?: number
  /**
   * `'error'`: the tool call fails with the typed `HaldirError` (the model gets a `tool-error`
   * with the reason and the loop goes on); `'result'`: the tool's output is `BLOCKED: …`.
   * @default 'error'
   */
  onDenied?: 'error' | 'result'
  /** Record the tool input in the audit entry. @default true */
  recordInput?: boolean
}

export interface HaldirToolOptions extends SharedOptions {
  /** Name in the audit trail and `byTool`. @default 'tool' */
  name?: string
  /** The scope the session needs; `null` for liveness and budget only. @default the name */
  scope?: string | null
  cost?: ToolCost
}

export interface HaldirToolSetOptions<TOOLS extends ToolSet> extends SharedOptions {
  /** Scope per tool; a tool not listed needs the scope named after it (`scope` for all of them). */
  scopes?: { [name in keyof TOOLS]?: string | null }
  /** One scope for every tool not in `scopes`. */
  scope?: string | null
  /** One cost for all tools, or one per tool. @default 0 */
  cost?: ToolCost | { [name in keyof TOOLS]?: ToolCost }
}

interface Call {
  input: unknown
  options: ToolExecutionOptions<unknown>
}

/**
 * Governs an AI SDK tool, or every tool of a tool set: the result has the same type, schema
 * and description, and each `execute` first passes Haldir's gate (scope, liveness, budget in
 * one backend call), then settles the cost and audits. Streaming tools (`async function*`
 * execute) are reserved before the first chunk and settled at the end. Tools without
 * `execute` (run by the client or the provider) are returned unchanged.
 *
 * @example
 * const tools = withHaldir({ search, sendEmail }, { haldir, sessionId: session.id, scopes: { search: 'browse' }, cost: { search: 0.01 } })
 * await generateText({ model, tools, stopWhen: stepCountIs(5), prompt })
 */
export function withHaldir<T extends Tool>(tool: T, options: HaldirToolOptions): T
export function withHaldir<TOOLS extends ToolSet>(tools: TOOLS, options: HaldirToolSetOptions<TOOLS>): TOOLS
export function withHaldir(toolOrSet: Tool | ToolSet, options: HaldirToolOptions | HaldirToolSetOptions<ToolSet>): Tool | ToolSet {
  if (typeof toolOrSet !== 'object' || toolOrSet === null) {
    throw new ValidationError({ issues: [{ path: 'tool', message: 'must be an AI SDK tool or a tool set' }] })
  }
  if (isTool(toolOrSet)) {
    const single = options as HaldirToolOptions
    const name = single.name ?? 'tool'
    return governTool(toolOrSet, name, single.scope === undefined ? name : single.scope, single.cost, single)
  }
  const set = options as HaldirToolSetOptions<ToolSet>
  const governed: ToolSet = {}
  for (const [name, tool] of Object.entries(toolOrSet)) {
    if (!isTool(tool)) throw new ValidationError({ issues: [{ path: `tools.${name}`, message: 'is not an AI SDK tool' }] })
    const scope = set.scopes && name in set.scopes ? (set.scopes[name] ?? null) : set.scope === undefined ? name : set.scope
    const cost = typeof set.cost === 'object' && set.cost !== null ? set.cost[name] : set.cost
    governed[name] = governTool(tool, name, scope, cost, set)
  }
  return governed
}

/** A tool, not a tool set: it looks like a tool and its members do not all look like tools. */
function isTool(value: unknown): value is Tool {
  return isToolLike(value) && !Object.values(value as object).every(isToolLike)
}

function isToolLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && ('inputSchema' in value || 'execute' in value)
}

function governTool<T extends Tool>(tool: T, name: string, scope: string | null, cost: ToolCost | undefined, options: SharedOptions): T {
  const execute = (tool as { execute?: (input: unknown, options: ToolExecutionOptions<unknown>) => unknown }).execute
  if (typeof execute !== 'function') return tool
  const pickSession = options.sessionId
  const govern: Governor<Call, unknown> = createGovernor<Call, unknown>({
    haldir: options.haldir,
    tool: name,
    scope,
    sessionId: typeof pickSession === 'function' ? (call) => pickSession(call.options) : pickSession,
    cost: typeof cost === 'function' ? (call, output) => cost(call.input, output) : cost,
    ...(typeof cost === 'function' ? { maxCost: options.maxCost ?? 1 } : {}),
    details: (call) => ({ ...(options.recordInput === false ? {} : { args: call.input }), toolCallId: call.options.toolCallId }),
    onDenied: options.onDenied === 'result' ? (decision) => deniedMessage(decision) : 'throw',
  })
  const streaming = execute.constructor?.name === 'AsyncGeneratorFunction'
  const governedExecute = streaming
    ? (input: unknown, executionOptions: ToolExecutionOptions<unknown>) =>
        govern.stream({ input, options: executionOptions }, () => execute.call(tool, input, executionOptions) as AsyncIterable<unknown>)
    : (input: unknown, executionOptions: ToolExecutionOptions<unknown>) => govern({ input, options: executionOptions }, () => execute.call(tool, input, executionOptions))
  return { ...tool, execute: governedExecute }
}
