import type { ModelMessage } from 'ai'

/** A person's answer to an SDK tool-approval request, as the conversation carries it. */
export interface ApprovalAnswer {
  toolCallId: string
  approved: boolean
  reason: string | undefined
}

/**
 * The answers in the last message of the conversation (a `tool` message of approval
 * responses, the way the AI SDK resumes after approvals), or in every message (`anywhere`),
 * each joined to the tool call its request was for. Answers to requests the conversation does
 * not contain are left out: the SDK itself refuses those.
 */
export function approvalAnswers(messages: readonly ModelMessage[], where: 'last' | 'anywhere' = 'last'): ApprovalAnswer[] {
  const responses: { approvalId: string; approved: boolean; reason?: string | undefined }[] = []
  for (const message of where === 'last' ? messages.slice(-1) : messages) {
    if (message.role !== 'tool' || typeof message.content === 'string') continue
    for (const part of message.content) if (part.type === 'tool-approval-response') responses.push(part)
  }
  if (responses.length === 0) return []
  const toolCallOf = new Map<string, string>()
  for (const message of messages) {
    if (message.role !== 'assistant' || typeof message.content === 'string') continue
    for (const part of message.content) if (part.type === 'tool-approval-request') toolCallOf.set(part.approvalId, part.toolCallId)
  }
  const answers: ApprovalAnswer[] = []
  for (const response of responses) {
    const toolCallId = toolCallOf.get(response.approvalId)
    if (toolCallId !== undefined) answers.push({ toolCallId, approved: response.approved, reason: response.reason })
  }
  return answers
}
