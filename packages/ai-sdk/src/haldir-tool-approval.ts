import { type Haldir, ValidationError } from '@haldir/core'
import { checkOptionKeys } from '@haldir/core/backend'
import type { ModelMessage, ToolSet, TypedToolCall } from 'ai'

export interface HaldirToolApprovalOptions<TOOLS extends ToolSet> {
  haldir: Haldir
  /** The session whose scopes decide; a function picks one per call. */
  sessionId: string | ((options: { toolCall: TypedToolCall<TOOLS>; runtimeContext: unknown }) => string)
  /** Scope per tool; a tool not listed needs the scope named after it. */
  scopes?: { [name in keyof TOOLS]?: string | null }
}

type ApprovalStatus = undefined | { type: 'denied'; reason: string }

/**
 * A `toolApproval` function for `generateText` / `streamText` / `ToolLoopAgent` that denies
 * out-of-scope (or dead-session) tool calls before they execute, through the SDK's own
 * `execution-denied` path: the model sees the reason, the tool never runs, the refusal is
 * audited. Allowed calls are left to the tool (`not-applicable`), where `withHaldir` charges them.
 *
 * @example
 * await generateText({ model, tools, toolApproval: haldirToolApproval({ haldir, sessionId, scopes: { send_email: 'send_email' } }), prompt })
 */
export function haldirToolApproval<TOOLS extends ToolSet>(options: HaldirToolApprovalOptions<TOOLS>) {
  checkOptionKeys(options, ['haldir', 'sessionId', 'scopes'])
  const { haldir } = options
  if (options.sessionId === undefined) throw new ValidationError({ issues: [{ path: 'sessionId', message: 'is required' }] })
  return async ({ toolCall, runtimeContext }: { toolCall: TypedToolCall<TOOLS>; runtimeContext: unknown; tools: TOOLS | undefined; messages: ModelMessage[] }): Promise<ApprovalStatus> => {
    const sessionId = typeof options.sessionId === 'function' ? options.sessionId({ toolCall, runtimeContext }) : options.sessionId
    const name = toolCall.toolName as keyof TOOLS & string
    const scope = options.scopes && name in options.scopes ? options.scopes[name] : name
    if (scope === null || scope === undefined) return undefined
    const permission = await haldir.checkPermission(sessionId, scope, { tool: name, details: { args: toolCall.input, toolCallId: toolCall.toolCallId } })
    return permission.allowed ? undefined : { type: 'denied', reason: `BLOCKED: ${permission.reason}` }
  }
}
