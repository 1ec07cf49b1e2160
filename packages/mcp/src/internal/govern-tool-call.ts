import { type Approval, type Haldir, type HaldirError, microsToUsd, usdToMicros, ValidationError } from '@haldir/core'
import { chargeAfterCall, denialToError } from '@haldir/core/backend'
import { costFromArguments, isArgumentCost } from '../mcp-tool-cost.ts'
import type { ToolCallPolicy } from './tool-call-policy.ts'

export interface GovernToolCallInput<Result> {
  haldir: Haldir
  sessionId: string
  /** The name in the audit trail and in `byTool`. */
  auditName: string
  policy: ToolCallPolicy<Result>
  args: Record<string, unknown>
  /** What the gate's entry records (the input, the upstream …). */
  details: Record<string, unknown> | undefined
  run: () => Promise<Result>
  /** The text of a result that is the tool's own error (MCP's `isError: true`), or `undefined` for a success. */
  toolError: (result: Result) => string | undefined
  /** Turns whatever `run` threw into the typed error that is audited and rethrown. */
  toError: (error: unknown) => HaldirError
  /** A call sent to a person: wait for the decision (default), or answer at once with the pending approval. */
  onPending?: 'wait' | 'return'
  /** Go on with an approval an earlier attempt of this call was sent to. */
  approvalId?: string
}

/** A refusal before anything ran: the gate's (audited), or bad input (nothing written); or a call waiting for a person (`approval`). */
export interface RefusedToolCall {
  allowed: false
  error: HaldirError
  reason: string
  approval?: Approval
}

export type GovernedToolCall<Result> = { allowed: true; result: Result } | RefusedToolCall

/**
 * One MCP tool call through the gate: reserve (the fixed cost, the amount in the arguments, or
 * `maxCost` for a result-priced tool) in one backend call; run; settle the cost on success. A
 * result with `isError: true` is the tool's own failure: it is returned as it is but not
 * charged (the hold is released and the entry is an `error`), as the other adapters release
 * on a throw. A throw releases the hold, is audited, and is rethrown typed. A call the
 * approval rules send to a person waits for the decision.
 */
export async function governToolCall<Result>(input: GovernToolCallInput<Result>): Promise<GovernedToolCall<Result>> {
  const { haldir, policy, args } = input
  let reserveUsd: number
  try {
    reserveUsd = reservation(policy, args)
  } catch (error) {
    if (!ValidationError.isInstance(error)) throw error
    // Nothing to reserve, but a call outside the session's scopes is still refused and audited as such.
    if (policy.scope !== null) {
      const permission = await haldir.checkPermission(input.sessionId, policy.scope, { tool: input.auditName, details: input.details })
      if (!permission.allowed) return { allowed: false, error: denialToError({ ...permission, facts: { scope: policy.scope } }, input.sessionId), reason: permission.reason }
    }
    return { allowed: false, error, reason: error.message }
  }
  const gate = { sessionId: input.sessionId, scope: policy.scope, tool: input.auditName, maxCostUsd: reserveUsd, details: input.details }
  let decision = await haldir.gate(input.approvalId === undefined ? gate : { ...gate, approvalId: input.approvalId })
  if (!decision.allowed && decision.pending === true && input.onPending === 'return') return { allowed: false, error: decision.error, reason: decision.reason, approval: decision.approval }
  if (!decision.allowed && decision.pending === true) {
    // Sent to a person: the call waits (its money held) for the decision or the deadline, then
    // goes on with that approval or is refused like any denial.
    const decided = await haldir.waitForApproval(decision.approval.id)
    decision = await haldir.gate({ ...gate, approvalId: decided.id })
  }
  if (!decision.allowed) return { allowed: false, error: decision.error, reason: decision.reason }
  const { hold } = decision
  const started = performance.now()
  let result: Result
  try {
    result = await input.run()
  } catch (error) {
    const typed = input.toError(error)
    await hold.release({ error: typed, details: { durationMs: elapsed(started), error: { code: typed.code } } })
    throw typed
  }
  const toolError = input.toolError(result)
  if (toolError !== undefined) {
    const text = toolError.length > 300 ? `${toolError.slice(0, 299)}…` : toolError
    await hold.release({ error: text, reason: `tool returned an error${text ? `: ${text}` : ''}`, details: { durationMs: elapsed(started), toolError: true } })
    return { allowed: true, result }
  }
  const cost = policy.cost
  if (typeof cost !== 'function') {
    await hold.settle(reserveUsd, { details: { durationMs: elapsed(started) } })
    return { allowed: true, result }
  }
  const { actualUsd: actual, problem } = chargeAfterCall(cost, args, result, reserveUsd)
  await hold.settle(actual, { details: { durationMs: elapsed(started) }, flagged: problem !== null, ...(problem ? { reason: problem } : {}) })
  return { allowed: true, result }
}

/** What is held before the call; an argument-priced call over its `maxCost` is refused. */
function reservation<Result>(policy: ToolCallPolicy<Result>, args: Record<string, unknown>): number {
  const { cost, maxCost } = policy
  if (typeof cost === 'number') return cost
  if (typeof cost === 'function') return maxCost ?? 0
  if (!isArgumentCost(cost)) throw new ValidationError({ issues: [{ path: 'cost', message: 'must be a number of USD, { argument } or a function' }] })
  const usd = costFromArguments(cost, args)
  if (maxCost !== undefined && usdToMicros(usd, 'cost') > usdToMicros(maxCost, 'maxCost')) {
    throw new ValidationError({ issues: [{ path: `arguments.${cost.argument}`, message: `prices the call at $${microsToUsd(usdToMicros(usd, 'cost'))}, over its maxCost of $${maxCost}` }] })
  }
  return usd
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000
}
