import { type Approval, type Haldir, HaldirError, type PendingDecision, ValidationError } from '@haldir/core'
import { interrupt } from '@langchain/langgraph'

/** What the run pauses with: the built-in human-in-the-loop request, plus Haldir's approval. */
export interface HaldirApprovalRequest {
  actionRequests: { name: string; args: Record<string, unknown>; description: string }[]
  reviewConfigs: { actionName: string; allowedDecisions: ('approve' | 'reject')[] }[]
  haldir: { approvalId: string; holdId: string; amountUsd: number; reason: string; expiresAt: string }
}

/**
 * What the run resumes with (`new Command({ resume })`), as for `humanInTheLoopMiddleware`:
 * `{ decisions: [{ type: 'approve' }] }` or `{ decisions: [{ type: 'reject', message }] }`. A
 * decision may name who decided (`decidedBy`) and carry a note. `edit` is not offered: an edited
 * call is another call, with another cost; reject it with a message and let the model retry.
 */
export interface HaldirApprovalResponse {
  decisions: { type: 'approve' | 'reject'; message?: string; decidedBy?: string }[]
}

export type InterruptAnswer = { approved: true; decidedBy: string | undefined; note: string | undefined } | { approved: false; decidedBy: string | undefined; note: string | undefined }

/** The pause for one pending call, in the human-in-the-loop shape approval UIs read. */
export function approvalRequest(pending: PendingDecision, toolName: string, args: Record<string, unknown>): HaldirApprovalRequest {
  const { approval } = pending
  return {
    actionRequests: [
      {
        name: toolName,
        args,
        description: `${approval.reason}: $${approval.amountUsd} is held until you decide (approval ${approval.id}, until ${approval.expiresAt})\n\nTool: ${toolName}\nArgs: ${JSON.stringify(args, null, 2)}`,
      },
    ],
    reviewConfigs: [{ actionName: toolName, allowedDecisions: ['approve', 'reject'] }],
    haldir: { approvalId: approval.id, holdId: approval.holdId, amountUsd: approval.amountUsd, reason: approval.reason, expiresAt: approval.expiresAt },
  }
}

/**
 * Pauses the run for a person (LangGraph `interrupt`, which needs a checkpointer) and returns
 * their answer once the run is resumed; `null` when the run cannot pause (no checkpointer, or
 * not inside a graph), so the caller falls back to answering without a person.
 */
export function askPerson(request: HaldirApprovalRequest): InterruptAnswer | null {
  let resumed: unknown
  try {
    resumed = interrupt(request)
  } catch (error) {
    const code = (error as { lc_error_code?: string }).lc_error_code
    if (code === 'MISSING_CHECKPOINTER' || (error instanceof Error && error.message.startsWith('Called interrupt() outside'))) return null
    // The pause itself (GraphInterrupt) and anything else travel on.
    throw error
  }
  const decision = Array.isArray((resumed as HaldirApprovalResponse | undefined)?.decisions) ? (resumed as HaldirApprovalResponse).decisions[0] : (resumed as HaldirApprovalResponse['decisions'][number] | undefined)
  if (!decision || (decision.type !== 'approve' && decision.type !== 'reject')) {
    throw new ValidationError({
      issues: [{ path: 'resume.decisions.0.type', message: `must be 'approve' or 'reject' for a call that holds money (got ${JSON.stringify(decision?.type ?? decision)})` }],
    })
  }
  return { approved: decision.type === 'approve', decidedBy: decision.decidedBy, note: decision.message }
}

/** Records the person's answer as the decision in Haldir; a decision already made (the timeout, another approver) stands. */
export async function recordAnswer(approver: Haldir, approvalId: string, answer: InterruptAnswer, by: string): Promise<Approval | null> {
  const options = answer.note === undefined ? { by: answer.decidedBy ?? by } : { by: answer.decidedBy ?? by, note: answer.note }
  try {
    return await (answer.approved ? approver.approve(approvalId, options) : approver.deny(approvalId, options))
  } catch (error) {
    if (HaldirError.isInstance(error) && error.code === 'approval_decided') return null
    throw error
  }
}
