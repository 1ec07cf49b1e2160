import { type Approval, type Haldir, HaldirError } from '@haldir/core'
import { checkOptionKeys } from '@haldir/core/backend'
import type { ModelMessage } from 'ai'
import { approvalAnswers } from './approval-responses.ts'

export interface RecordApprovalAnswersOptions {
  /** The client that records decisions (an approver key over HTTP). */
  haldir: Haldir
  /** The session whose calls were answered. */
  sessionId: string
  /** The conversation, its last message the `tool` message of the person's answers. */
  messages: readonly ModelMessage[]
  /** Who answered (the app's signed-in user). */
  decidedBy: string
}

/**
 * Records a person's answers to the SDK's tool-approval requests as Haldir decisions, at once:
 * approved calls are approved (they run when the conversation goes on), denied ones are denied
 * and their held money released now. Call it where the answers arrive, before resuming with
 * `generateText`/`streamText`. Without it the answers still take effect: an approval when the
 * call resumes, a denial at the next governed call of the conversation or at the deadline.
 * Resolves to the approvals it decided.
 */
export async function recordApprovalAnswers(options: RecordApprovalAnswersOptions): Promise<Approval[]> {
  checkOptionKeys(options, ['haldir', 'sessionId', 'messages', 'decidedBy'])
  const answers = approvalAnswers(options.messages)
  if (answers.length === 0) return []
  const waiting = await options.haldir.listApprovals({ sessionId: options.sessionId, status: 'pending', limit: 10_000 })
  const decided: Approval[] = []
  for (const answer of answers) {
    const approval = waiting.find((candidate) => candidate.details.toolCallId === answer.toolCallId)
    if (!approval) continue
    const decideOptions = answer.reason === undefined ? { by: options.decidedBy } : { by: options.decidedBy, note: answer.reason }
    try {
      decided.push(await (answer.approved ? options.haldir.approve(approval.id, decideOptions) : options.haldir.deny(approval.id, decideOptions)))
    } catch (error) {
      if (!(HaldirError.isInstance(error) && error.code === 'approval_decided')) throw error
    }
  }
  return decided
}
