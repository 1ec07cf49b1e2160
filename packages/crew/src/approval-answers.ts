import type { Approval, Haldir } from '@haldir/core'
import type { ModelMessage } from 'ai'

/** An SDK approval request of a step, joined to the Haldir approval holding its money. */
export interface PendingCall {
  /** The SDK's id of the request (its answer names it). */
  requestId: string
  toolCallId: string
  approval: Approval
}

interface ApprovalRequestPart {
  type: 'tool-approval-request'
  approvalId: string
  toolCall: { toolCallId: string }
}

/** The approval requests of a step's content, each with the Haldir approval its tool call was sent to. */
export async function pendingCalls(haldir: Haldir, sessionId: string, content: readonly { type: string }[]): Promise<PendingCall[]> {
  const requests = content.filter((part): part is ApprovalRequestPart => part.type === 'tool-approval-request')
  if (requests.length === 0) return []
  const approvals = await haldir.listApprovals({ sessionId, limit: 1000 })
  return requests.flatMap((request) => {
    const approval = approvals.find((candidate) => candidate.details.toolCallId === request.toolCall.toolCallId)
    return approval ? [{ requestId: request.approvalId, toolCallId: request.toolCall.toolCallId, approval }] : []
  })
}

/**
 * The conversation's answer to its approval requests, from where each Haldir approval stands:
 * approved runs it; denied or expired reaches the model as `execution-denied` with the reason.
 */
export function answersMessage(calls: readonly PendingCall[]): ModelMessage {
  return {
    role: 'tool',
    content: calls.map(({ requestId, approval }) => ({
      type: 'tool-approval-response' as const,
      approvalId: requestId,
      approved: approval.status === 'approved',
      ...(approval.status === 'approved'
        ? {}
        : {
            reason:
              approval.status === 'denied'
                ? `denied by ${approval.decidedBy ?? 'a person'}${approval.note ? `: ${approval.note}` : ''}`
                : `nobody approved it in time (approval ${approval.id} ${approval.status})`,
          }),
    })),
  }
}
