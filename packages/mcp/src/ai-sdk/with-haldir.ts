import { type Haldir, ValidationError } from '@haldir/core'
import type { Tool, ToolExecutionOptions, ToolSet } from 'ai'
import { toUpstreamError } from '../errors/to-upstream-error.ts'
import { blockedText } from '../internal/blocked-text.ts'
import { governToolCall } from '../internal/govern-tool-call.ts'
import { createPolicyTable } from '../internal/policy-table.ts'
import { recordedInput } from '../internal/recorded-input.ts'
import type { McpToolPolicyOptions } from '../internal/tool-call-policy.ts'
import { toolResultText } from '../internal/tool-result-text.ts'

export interface HaldirMcpToolSetOptions extends McpToolPolicyOptions<unknown> {
  haldir: Haldir
  /** The session charged; a function picks one per call (from the tool's execution options). */
  sessionId: string | ((options: ToolExecutionOptions<unknown>) => string)
  /**
   * `'throw'`: the tool call fails with the typed `HaldirError`, which the AI SDK turns into a
   * `tool-error` the model reads. `'message'`: the tool's result is `BLOCKED: <reason>`.
   * @default 'throw' (as in `@haldir/ai-sdk`)
   */
  onDenied?: 'throw' | 'message'
  /** Record the tool input in the audit entry (`{ args }`), or map it to details yourself. @default true */
  recordInput?: boolean | ((input: Record<string, unknown>) => Record<string, unknown>)
}

/**
 * Governs the tool set `@ai-sdk/mcp` makes of an MCP server (`await mcpClient.tools()`): the
 * same tools (schema, description, `toModelOutput`), whose `execute` first passes Haldir's
 * gate and is settled and audited after, as `@haldir/ai-sdk` does, with what MCP adds: a
 * cost may be read from the arguments (`{ argument: 'amount' }`, reserved exactly), and a
 * result with `isError: true` is handed to the model unchanged but not charged (the hold is
 * released and audited as an error). A failed call rejects with a typed `UpstreamError`.
 *
 * @example
 * const mcp = await createMCPClient({ transport })
 * const tools = withHaldir(await mcp.tools(), { haldir, sessionId, scopes: { charge: 'payments' }, costs: { charge: { argument: 'amount' } } })
 * await generateText({ model, tools, prompt })
 */
export function withHaldir<TOOLS extends ToolSet>(tools: TOOLS, options: HaldirMcpToolSetOptions): TOOLS {
  if (typeof tools !== 'object' || tools === null || Array.isArray(tools)) {
    throw new ValidationError({ issues: [{ path: 'tools', message: 'must be the tool set of an MCP client (await mcpClient.tools())' }] })
  }
  const { haldir } = options
  if (typeof haldir !== 'object' || haldir === null || typeof haldir.gate !== 'function') {
    throw new ValidationError({ issues: [{ path: 'haldir', message: 'must be a Haldir client from createHaldir()' }] })
  }
  const onDenied = options.onDenied ?? 'throw'
  if (onDenied !== 'throw' && onDenied !== 'message') throw new ValidationError({ issues: [{ path: 'onDenied', message: "must be 'throw' or 'message'" }] })
  const pickSession = options.sessionId
  const record = options.recordInput ?? true
  const policies = createPolicyTable<unknown>(options)
  const governed: ToolSet = {}
  for (const [name, tool] of Object.entries(tools) as [string, Tool][]) {
    const execute = tool.execute as ((input: unknown, executionOptions: ToolExecutionOptions<unknown>) => unknown) | undefined
    if (typeof execute !== 'function') {
      governed[name] = tool
      continue
    }
    const policy = policies.get(name)
    const governedExecute = async (input: unknown, executionOptions: ToolExecutionOptions<unknown>) => {
      const args = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>
      const outcome = await governToolCall<unknown>({
        haldir,
        sessionId: typeof pickSession === 'function' ? pickSession(executionOptions) : pickSession,
        auditName: name,
        policy,
        args,
        details: { ...recordedInput(record, args), toolCallId: executionOptions.toolCallId },
        run: async () => execute.call(tool, input, executionOptions),
        toolError: (result) => (isErrorResult(result) ? toolResultText(result) : undefined),
        toError: (error) => toUpstreamError(error, { tool: name, ...(executionOptions.abortSignal ? { signal: executionOptions.abortSignal } : {}) }),
      })
      if (outcome.allowed) return outcome.result
      if (onDenied === 'throw') throw outcome.error
      return blockedText(outcome.reason)
    }
    governed[name] = { ...tool, execute: governedExecute } as Tool
  }
  return governed as TOOLS
}

/** An MCP tool result that is the tool's own error (`@ai-sdk/mcp` returns those instead of throwing). */
function isErrorResult(result: unknown): result is { isError: true; content?: unknown } {
  return typeof result === 'object' && result !== null && (result as { isError?: unknown }).isError === true
}
