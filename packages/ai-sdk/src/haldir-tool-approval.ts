import { type Haldir, ValidationError } from '@haldir/core'
import { checkOptionKeys } from '@haldir/core/backend'
import type { ModelMessage, ToolSet, TypedToolCall } from 'ai'
import { type ApprovalStatus, approvalHookKey, type approvalHook } from './approval-hook.ts'

export interface HaldirToolApprovalOptions<TOOLS extends ToolSet> {
  haldir: Haldir
  /** The session whose scopes decide; a function picks one per call. */
  sessionId: string | ((options: { toolCall: TypedToolCall<TOOLS>; runtimeContext: unknown }) => string)
  /** Scope per tool; a tool not listed needs the scope named after it. */
  scopes?: { [name in keyof TOOLS]?: string | null }
}

/**
 * A `toolApproval` function for `generateText` / `streamText` / `ToolLoopAgent` that denies
 * out-of-scope (or dead-session) tool calls before they execute, through the SDK's own
 * `execution-denied` path: the model sees the reason, the tool never runs, the refusal is
 * audited. Allowed calls are left to the tool (`not-applicable`), where `withHaldir` charges them.
 *
 * For a tool governed by `withHaldir` it asks the tool's own gate instead (one gate per call,
 * the cost held): a call Haldir sends to a person becomes the SDK's approval request with
 * Haldir's reason (a generic `toolApproval` function replaces every tool's `needsApproval`).
 *
 * @example
 * await generateText({ model, tools, toolApproval: haldirToolApproval({ haldir, sessionId, scopes: { send_email: 'send_email' } }), prompt })
 */
export function haldirToolApproval<TOOLS extends ToolSet>(options: HaldirToolApprovalOptions<TOOLS>) {
  checkOptionKeys(options, ['haldir', 'sessionId', 'scopes'])
  const { haldir } = options
  if (options.sessionId === undefined) throw new ValidationError({ issues: [{ path: 'sessionId', message: 'is required' }] })
  return async ({
    toolCall,
    runtimeContext,
    tools,
    messages,
    toolsContext,
  }: {
    toolCall: TypedToolCall<TOOLS>
    runtimeContext: unknown
    tools: TOOLS | undefined
    messages: ModelMessage[]
    toolsContext?: unknown
  }): Promise<ApprovalStatus> => {
    const governed = (tools?.[toolCall.toolName as keyof TOOLS] as { [approvalHookKey]?: ReturnType<typeof approvalHook> } | undefined)?.[approvalHookKey]
    if (governed) {
      const context = (toolsContext as Record<string, unknown> | undefined)?.[toolCall.toolName]
      return governed.status(toolCall.input, { toolCallId: toolCall.toolCallId, messages, context })
    }
    const sessionId = typeof options.sessionId === 'function' ? options.sessionId({ toolCall, runtimeContext }) : options.sessionId
    const name = toolCall.toolName as keyof TOOLS & string
    const scope = options.scopes && name in options.scopes ? options.scopes[name] : name
    if (scope === null || scope === undefined) return undefined
    const permission = await haldir.checkPermission(sessionId, scope, { tool: name, details: { args: toolCall.input, toolCallId: toolCall.toolCallId } })
    return permission.allowed ? undefined : { type: 'denied', reason: `BLOCKED: ${permission.reason}` }
  }
}
