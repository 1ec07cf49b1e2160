import { ToolMessage } from '@langchain/core/messages'

/**
 * The answer the model gets for a call it may not make or that failed: an error `ToolMessage`
 * (so the agent loop goes on and the model can change course), reason in the content.
 */
export function blockedToolMessage(options: { content: string; toolCallId: string; toolName: string; code?: string }): ToolMessage {
  return new ToolMessage({
    content: options.content,
    tool_call_id: options.toolCallId,
    name: options.toolName,
    status: 'error',
    ...(options.code ? { additional_kwargs: { haldir: { code: options.code } } } : {}),
  })
}
