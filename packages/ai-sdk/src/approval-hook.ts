import { type GateDecision, type Governor, type Haldir, HaldirError, type RequireApproval } from '@haldir/core'
import type { ModelMessage, ToolExecutionOptions } from 'ai'
import { approvalAnswers } from './approval-responses.ts'

/** What a governed tool's call looks like to its governor. */
export interface ToolCall {
  input: unknown
  options: ToolExecutionOptions<unknown>
}

export interface ApprovalHookOptions {
  haldir: Haldir
  /** Who decides in Haldir when the SDK carries a person's answer (the app's user). */
  decidedBy: string | ((call: { toolCallId: string; input: unknown }) => string)
  /** The client that records decisions (an approver key over HTTP); `haldir` when omitted. */
  approver: Haldir
  /** The tool's own `needsApproval`, if it had one: what it says is demanded of Haldir too. */
  own: unknown
  sessionOf: (options: ToolExecutionOptions<unknown>) => string
}

/** What Haldir says of a call, in the SDK's approval vocabulary. */
export type ApprovalStatus = undefined | { type: 'user-approval'; reason?: string } | { type: 'denied'; reason?: string }

/** Where `haldirToolApproval` finds the hook of a governed tool. */
export const approvalHookKey = Symbol.for('haldir.ai-sdk.approval-hook')

// SDK tool call → the Haldir approval it was sent to, per client: shared by every tool governed
// through it, so any of them can take a denial that comes back for another.
const askedByClient = new WeakMap<Haldir, Map<string, string>>()
function askedOf(haldir: Haldir): Map<string, string> {
  let asked = askedByClient.get(haldir)
  if (!asked) askedByClient.set(haldir, (asked = new Map()))
  return asked
}

// A gate's answer waits here from the approval hook until the tool runs (normally the same
// tick); one never used is left to its hold's lease.
const KEPT = 10_000

/**
 * The bridge between Haldir approvals and the AI SDK's own: the tool's `needsApproval` asks
 * Haldir's gate first (holding the cost). A call Haldir sends to a person becomes the SDK's
 * tool-approval request; the person's answer, when the conversation comes back with it, is the
 * decision in Haldir (approved: the call runs on the money held since the request; denied: the
 * hold is released and `execution-denied` reaches the model). The gate's answer is handed to
 * `execute`, so a call still costs one gate.
 */
export function approvalHook(govern: Governor<ToolCall, unknown>, options: ApprovalHookOptions) {
  const decided = new Map<string, GateDecision>()
  const asked = askedOf(options.haldir)
  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    if (map.size >= KEPT) map.delete(map.keys().next().value as string)
    map.set(key, value)
  }

  async function ownSays(input: unknown, hookOptions: { toolCallId: string; messages: ModelMessage[]; context?: unknown }): Promise<RequireApproval | undefined> {
    const { own } = options
    if (own === undefined || own === false) return undefined
    if (own === true) return 'the tool asks for approval'
    if (typeof own === 'function') return (await (own as (input: unknown, options: unknown) => unknown)(input, hookOptions)) ? 'the tool asks for approval' : undefined
    return undefined
  }

  /** The Haldir approval an SDK tool call was sent to: known here, or found by the call id its details carry. */
  async function approvalOf(sessionId: string, toolCallId: string): Promise<string | undefined> {
    const known = asked.get(toolCallId)
    if (known) return known
    const listed = await options.haldir.listApprovals({ sessionId, limit: 1000 })
    return listed.find((approval) => approval.details.toolCallId === toolCallId)?.id
  }

  async function decide(approvalId: string, decision: 'approve' | 'deny', by: string, note: string | undefined): Promise<void> {
    // Decided already (a person in the CLI or dashboard, the timeout): nothing to record, and an
    // agent's own key, which may not decide, is never asked to.
    if ((await options.haldir.getApproval(approvalId)).status !== 'pending') return
    const decideOptions = note === undefined ? { by } : { by, note }
    try {
      await (decision === 'approve' ? options.approver.approve(approvalId, decideOptions) : options.approver.deny(approvalId, decideOptions))
    } catch (error) {
      // Decided already (another answer, the timeout): the gate says what that means below.
      if (!(HaldirError.isInstance(error) && error.code === 'approval_decided')) throw error
    }
  }

  const who = (toolCallId: string, input: unknown) => (typeof options.decidedBy === 'function' ? options.decidedBy({ toolCallId, input }) : options.decidedBy)

  /** The status for a `toolApproval` function: asked of a person (with Haldir's reason), refused, or not applicable. */
  async function status(input: unknown, hookOptions: HookOptions): Promise<ApprovalStatus> {
    const executionOptions = { toolCallId: hookOptions.toolCallId, messages: hookOptions.messages, context: hookOptions.context } as ToolExecutionOptions<unknown>
    const call: ToolCall = { input, options: executionOptions }
    const sessionId = options.sessionOf(executionOptions)
    // Denials come back once, with the conversation: release their money now, not at the deadline.
    for (const answer of approvalAnswers(hookOptions.messages, 'anywhere')) {
      if (answer.approved || answer.toolCallId === hookOptions.toolCallId) continue
      const approvalId = asked.get(answer.toolCallId)
      if (approvalId) {
        asked.delete(answer.toolCallId)
        await decide(approvalId, 'deny', who(answer.toolCallId, undefined), answer.reason)
      }
    }
    const answer = approvalAnswers(hookOptions.messages).find((candidate) => candidate.toolCallId === hookOptions.toolCallId)
    if (answer) {
      // The person answered this very call in the SDK: that answer is the decision in Haldir.
      let approvalId = await approvalOf(sessionId, hookOptions.toolCallId)
      if (!approvalId && answer.approved) {
        // Its request is gone from here (another process, a restart): ask the gate again; a
        // call the rules send to a person takes the answer already given.
        const fresh = await govern.decide(call)
        if (fresh.allowed || fresh.pending !== true) {
          remember(decided, hookOptions.toolCallId, fresh)
          return fresh.allowed ? { type: 'user-approval' } : { type: 'denied', reason: `BLOCKED: ${fresh.reason}` }
        }
        approvalId = fresh.approval.id
      }
      if (approvalId) {
        asked.delete(hookOptions.toolCallId)
        await decide(approvalId, answer.approved ? 'approve' : 'deny', who(hookOptions.toolCallId, input), answer.reason)
        if (!answer.approved) return { type: 'denied', ...(answer.reason ? { reason: answer.reason } : {}) }
        const goOn = await govern.decide(call, { approvalId })
        remember(decided, hookOptions.toolCallId, goOn)
        // Approved in Haldir too: the SDK runs it; refused after all (expired, revoked): the model is told.
        return goOn.allowed ? { type: 'user-approval' } : { type: 'denied', reason: `BLOCKED: ${goOn.reason}` }
      }
    }
    const own = await ownSays(input, hookOptions)
    const decision = await govern.decide(call, own === undefined ? {} : { requireApproval: own })
    if (!decision.allowed && decision.pending === true) {
      remember(asked, hookOptions.toolCallId, decision.approval.id)
      return { type: 'user-approval', reason: decision.approval.reason }
    }
    remember(decided, hookOptions.toolCallId, decision)
    return decision.allowed ? undefined : { type: 'denied', reason: `BLOCKED: ${decision.reason}` }
  }

  return {
    status,
    /** The decision the hook got for this call, handed once to its `execute`. */
    take(toolCallId: string): GateDecision | undefined {
      const decision = decided.get(toolCallId)
      decided.delete(toolCallId)
      return decision
    },
    /**
     * The SDK's tool-level `needsApproval`: only a yes or a no (when the SDK re-checks an
     * approved call, either lets it run). A refusal is a no here and reaches the model from
     * `execute`, where the gate's answer is handed over.
     */
    needsApproval: async (input: unknown, hookOptions: HookOptions): Promise<boolean> => (await status(input, hookOptions))?.type === 'user-approval',
  }
}

type HookOptions = { toolCallId: string; messages: ModelMessage[]; context?: unknown }
