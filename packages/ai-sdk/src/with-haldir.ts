import { createGovernor, deniedMessage, type Governor, type Haldir, resolveToolPolicy, type ToolCost as CoreToolCost, type ToolPolicyOptions, ValidationError } from '@haldir/core'
import { checkOptionKeys } from '@haldir/core/backend'
import type { Tool, ToolExecutionOptions, ToolSet } from 'ai'
import { approvalHook, approvalHookKey, type ToolCall } from './approval-hook.ts'

/** A cost in USD: fixed, or from the tool's input and output (then `maxCost` is reserved first). */
export type ToolCost = CoreToolCost<unknown, unknown>

/**
 * - `'throw'` (default): the tool call fails with the typed `HaldirError`; the AI SDK turns it
 *   into a `tool-error` the model reads, and the loop goes on.
 * - `'message'`: the tool's result is `BLOCKED: <reason>`.
 * - `'error'` and `'result'` are the deprecated names of the two.
 */
export type AiSdkOnDenied = 'throw' | 'message' | 'error' | 'result'

interface SharedOptions {
  haldir: Haldir
  /** The session charged; a function picks one per call (from the tool's `context`, say). */
  sessionId: string | ((options: ToolExecutionOptions<unknown>) => string)
  /** @default 'throw' */
  onDenied?: AiSdkOnDenied
  /** Record the tool input in the audit entry, or map it to details yourself. @default true */
  recordInput?: boolean | ((input: unknown) => Record<string, unknown>)
  /** Seconds a call's hold stays open before its lease ends. @default 900 */
  holdTtl?: number
  /**
   * Who decides in Haldir when a person answers the SDK's tool-approval request (recorded on
   * the approval and in the trail). @default 'ai-sdk-user'
   */
  decidedBy?: string | ((call: { toolCallId: string; input: unknown }) => string)
  /** The client that records those decisions, when `haldir` may not (an approver key over HTTP). @default haldir */
  approver?: Haldir
  /**
   * A call sent to a person while it executes (not through the SDK's approval request: a
   * generic `toolApproval` function replaces every tool's `needsApproval` in the SDK): `'throw'`
   * the `ApprovalPendingError` (a `tool-error` the model reads), or `'wait'` for the decision.
   * @default 'throw'
   */
  onPending?: 'throw' | 'wait'
}

const SHARED_OPTIONS = ['haldir', 'sessionId', 'onDenied', 'recordInput', 'holdTtl', 'decidedBy', 'approver', 'onPending'] as const
const TOOL_OPTIONS = [...SHARED_OPTIONS, 'auditName', 'name', 'scope', 'cost', 'maxCost'] as const
const TOOL_SET_OPTIONS = [...SHARED_OPTIONS, 'scope', 'scopes', 'cost', 'costs', 'maxCost', 'maxCosts'] as const

export interface HaldirToolOptions extends SharedOptions {
  /** Name in the audit trail and `byTool`. @default 'tool' */
  auditName?: string
  /** @deprecated Use `auditName`; this alias goes in the next minor release. */
  name?: string
  /** The scope the session needs; `null` for liveness and budget only. @default the audit name */
  scope?: string | null
  cost?: ToolCost
  /** Reserved before a tool whose cost is a function. @default 1 */
  maxCost?: number
}

export interface HaldirToolSetOptions<TOOLS extends ToolSet> extends SharedOptions, Omit<ToolPolicyOptions<unknown, unknown>, 'scopes' | 'costs' | 'maxCosts' | 'cost'> {
  /** Scope per tool; a tool not listed needs `scope`, or else the scope named after it. */
  scopes?: { [name in keyof TOOLS]?: string | null }
  /** USD per call, per tool; a tool not listed costs `cost`. */
  costs?: { [name in keyof TOOLS]?: ToolCost }
  /** One cost for every tool not in `costs` (a map here is the deprecated form of `costs`). @default 0 */
  cost?: ToolCost | { [name in keyof TOOLS]?: ToolCost }
  maxCosts?: { [name in keyof TOOLS]?: number }
}

type Call = ToolCall

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
    checkOptionKeys(options, TOOL_OPTIONS)
    const single = options as HaldirToolOptions
    const name = single.auditName ?? single.name ?? 'tool'
    return governTool(toolOrSet, name, resolveToolPolicy(name, single), single)
  }
  checkOptionKeys(options, TOOL_SET_OPTIONS)
  const set = options as HaldirToolSetOptions<ToolSet>
  // `cost` as a map is the old spelling of `costs`.
  const costMap = typeof set.cost === 'object' && set.cost !== null ? set.cost : undefined
  const policyOptions: ToolPolicyOptions<unknown, unknown> = {
    ...set,
    cost: costMap ? undefined : (set.cost as ToolCost | undefined),
    costs: { ...costMap, ...set.costs } as Record<string, ToolCost>,
    scopes: set.scopes as Record<string, string | null>,
    maxCosts: set.maxCosts as Record<string, number>,
  }
  const governed: ToolSet = {}
  for (const [name, tool] of Object.entries(toolOrSet)) {
    if (!isTool(tool)) throw new ValidationError({ issues: [{ path: `tools.${name}`, message: 'is not an AI SDK tool' }] })
    governed[name] = governTool(tool, name, resolveToolPolicy(name, policyOptions), set)
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

function governTool<T extends Tool>(tool: T, name: string, policy: ReturnType<typeof resolveToolPolicy<unknown, unknown>>, options: SharedOptions): T {
  const execute = (tool as { execute?: (input: unknown, options: ToolExecutionOptions<unknown>) => unknown }).execute
  if (typeof execute !== 'function') return tool
  const pickSession = options.sessionId
  const { cost, scope, maxCost } = policy
  const record = options.recordInput ?? true
  const onDenied = options.onDenied ?? 'throw'
  if (!['throw', 'message', 'error', 'result'].includes(onDenied)) throw new ValidationError({ issues: [{ path: 'onDenied', message: "must be 'throw' or 'message'" }] })
  const govern: Governor<Call, unknown> = createGovernor<Call, unknown>({
    haldir: options.haldir,
    auditName: name,
    scope,
    sessionId: typeof pickSession === 'function' ? (call) => pickSession(call.options) : pickSession,
    cost: typeof cost === 'function' ? (call, output) => cost(call.input, output) : cost,
    ...(maxCost === undefined ? {} : { maxCost }),
    ...(options.holdTtl === undefined ? {} : { holdTtl: options.holdTtl }),
    recordInput: (call) => ({ ...(record === true ? { args: call.input } : record === false ? {} : record(call.input)), toolCallId: call.options.toolCallId }),
    onDenied: onDenied === 'message' || onDenied === 'result' ? (decision) => deniedMessage(decision) : 'throw',
    onPending: options.onPending ?? 'throw',
  })
  const sessionOf = (executionOptions: ToolExecutionOptions<unknown>) => (typeof pickSession === 'function' ? pickSession(executionOptions) : pickSession)
  const hook = approvalHook(govern, {
    haldir: options.haldir,
    approver: options.approver ?? options.haldir,
    decidedBy: options.decidedBy ?? 'ai-sdk-user',
    own: (tool as { needsApproval?: unknown }).needsApproval,
    sessionOf,
  })
  // The gate's answer from the approval hook, when the SDK asked it first; the call's own signal.
  const callOptions = (executionOptions: ToolExecutionOptions<unknown>) => {
    const decision = hook.take(executionOptions.toolCallId)
    return { ...(decision ? { decision } : {}), ...(executionOptions.abortSignal ? { signal: executionOptions.abortSignal } : {}) }
  }
  const streaming = execute.constructor?.name === 'AsyncGeneratorFunction'
  const governedExecute = streaming
    ? (input: unknown, executionOptions: ToolExecutionOptions<unknown>) =>
        govern.stream({ input, options: executionOptions }, () => execute.call(tool, input, executionOptions) as AsyncIterable<unknown>, callOptions(executionOptions))
    : (input: unknown, executionOptions: ToolExecutionOptions<unknown>) =>
        govern({ input, options: executionOptions }, () => execute.call(tool, input, executionOptions), callOptions(executionOptions))
  return { ...tool, execute: governedExecute, needsApproval: hook.needsApproval, [approvalHookKey]: hook }
}
