import { type Haldir, ValidationError } from '@haldir/core'
import { blockedToolMessage } from '@haldir/langchain'
import type { CallbackManagerForToolRun } from '@langchain/core/callbacks/manager'
import type { StructuredToolInterface, ToolRunnableConfig } from '@langchain/core/tools'
import { toUpstreamError } from '../errors/to-upstream-error.ts'
import { blockedText } from '../internal/blocked-text.ts'
import { governToolCall } from '../internal/govern-tool-call.ts'
import { createPolicyTable } from '../internal/policy-table.ts'
import { recordedInput } from '../internal/recorded-input.ts'
import type { McpToolPolicyOptions } from '../internal/tool-call-policy.ts'

export interface HaldirMcpToolsOptions extends McpToolPolicyOptions<unknown> {
  haldir: Haldir
  /** The session charged; a function picks one per call (from `config.configurable`, say). */
  sessionId: string | ((input: unknown, config: ToolRunnableConfig) => string)
  /**
   * `'message'`: a refusal becomes an error `ToolMessage` (`BLOCKED: <reason>`) so the agent loop
   * goes on; `'throw'`: the typed `HaldirError` is thrown. @default 'message' (as in `@haldir/langchain`)
   */
  onDenied?: 'message' | 'throw'
  /** Record the parsed input in the audit entry (`{ args }`), or map it to details yourself. @default true */
  recordInput?: boolean | ((input: Record<string, unknown>) => Record<string, unknown>)
}

interface ToolInternals {
  _call(input: unknown, runManager?: CallbackManagerForToolRun, config?: ToolRunnableConfig): Promise<unknown>
  responseFormat?: string
}

/**
 * Governs the LangChain tools `@langchain/mcp-adapters` makes of MCP servers
 * (`await multiServerClient.getTools()`, `loadMcpTools(…)`): each is the same tool (class,
 * name, schema, `content_and_artifact` format) whose every run first passes Haldir's gate
 * and is settled and audited after, with refusals as error `ToolMessage`s as in
 * `@haldir/langchain`. A cost may be read from the arguments (`{ argument: 'amount' }`,
 * reserved exactly). The adapters throw a `ToolException` for a tool's own error
 * (`isError: true`) and for a failed call: either releases the hold, is audited as an error,
 * and the `ToolException` is rethrown unchanged (so `handleToolError` works as before).
 *
 * @example
 * const tools = withHaldir(await mcp.getTools(), { haldir, sessionId, scopes: { charge: 'payments' }, costs: { charge: { argument: 'amount' } } })
 * const agent = createAgent({ model, tools })
 */
export function withHaldir<T extends StructuredToolInterface>(tools: readonly T[], options: HaldirMcpToolsOptions): T[] {
  if (!Array.isArray(tools)) throw new ValidationError({ issues: [{ path: 'tools', message: 'must be the array of LangChain tools of an MCP client (await client.getTools())' }] })
  const { haldir } = options
  if (typeof haldir !== 'object' || haldir === null || typeof haldir.gate !== 'function') {
    throw new ValidationError({ issues: [{ path: 'haldir', message: 'must be a Haldir client from createHaldir()' }] })
  }
  const onDenied = options.onDenied ?? 'message'
  if (onDenied !== 'throw' && onDenied !== 'message') throw new ValidationError({ issues: [{ path: 'onDenied', message: "must be 'message' or 'throw'" }] })
  const pickSession = options.sessionId
  const record = options.recordInput ?? true
  const policies = createPolicyTable<unknown>(options)
  return tools.map((tool, index) => {
    const original = tool as unknown as T & ToolInternals
    if (typeof original?._call !== 'function' || typeof original.name !== 'string') {
      throw new ValidationError({ issues: [{ path: `tools.${index}`, message: 'is not a LangChain tool' }] })
    }
    const policy = policies.get(original.name)
    const pair = original.responseFormat === 'content_and_artifact'
    // A live view of the original: everything is inherited (class, fields, schema), only the run is gated.
    const governed = Object.create(original) as T & ToolInternals
    governed._call = async function governedCall(input, runManager, config = {}) {
      const args = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>
      const toolCallId = config.toolCall?.id
      let outcome: Awaited<ReturnType<typeof governToolCall<unknown>>>
      let thrown: { error: unknown } | undefined
      try {
        outcome = await governToolCall<unknown>({
          haldir,
          sessionId: typeof pickSession === 'function' ? pickSession(input, config) : pickSession,
          auditName: original.name,
          policy,
          args,
          details: { ...recordedInput(record, args), ...(toolCallId ? { toolCallId } : {}) },
          run: () => original._call.call(this, input, runManager, config),
          // The adapters throw on a tool's own error, so every result here is a success.
          toolError: () => undefined,
          toError: (error) => {
            thrown = { error }
            return toUpstreamError(error, { tool: original.name, ...(config.signal ? { signal: config.signal } : {}) })
          },
        })
      } catch (error) {
        // Audited as typed; LangChain gets the ToolException the tool threw, for its own error handling.
        throw thrown ? thrown.error : error
      }
      if (outcome.allowed) return outcome.result
      if (onDenied === 'throw') throw outcome.error
      const text = blockedText(outcome.reason)
      const answer = toolCallId ? blockedToolMessage({ content: text, toolCallId, toolName: original.name, code: outcome.error.code }) : text
      // A content-and-artifact tool must answer with a pair; a ToolMessage passes through as is.
      return pair ? [answer, undefined] : answer
    }
    return governed
  })
}
