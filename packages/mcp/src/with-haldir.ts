import { type Haldir, ValidationError } from '@haldir/core'
import { scopesAllow } from '@haldir/core/backend'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { CallToolRequestParams, CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { blockedToolResult } from './blocked-tool-result.ts'
import { toUpstreamError } from './errors/to-upstream-error.ts'
import { governToolCall } from './internal/govern-tool-call.ts'
import { isLive } from './internal/is-live.ts'
import { toolResultText } from './internal/tool-result-text.ts'
import { recordedInput } from './internal/recorded-input.ts'
import type { McpToolPolicyOptions } from './internal/tool-call-policy.ts'
import { createPolicyTable } from './internal/policy-table.ts'

/** The two members of an MCP `Client` that governance changes. */
export type GovernableClient = Pick<Client, 'callTool' | 'listTools'>

export interface HaldirClientOptions extends McpToolPolicyOptions {
  haldir: Haldir
  /** The session charged; a function picks one per call from its parameters. */
  sessionId: string | ((call: CallToolRequestParams) => string)
  /**
   * `'message'`: a refusal resolves to an MCP tool error (`isError: true`, `BLOCKED: <reason>`),
   * the shape MCP gives every tool failure the model should read. `'throw'`: `callTool`
   * rejects with the typed `HaldirError`. @default 'message'
   */
  onDenied?: 'message' | 'throw'
  /** Record the call's arguments in the audit entry (`{ args }`), or map them to details yourself. @default true */
  recordInput?: boolean | ((args: Record<string, unknown>) => Record<string, unknown>)
  /**
   * `listTools()` returns only the tools the session's scopes allow (none once the session is
   * revoked or expired). Needs a fixed `sessionId`. @default true with a fixed `sessionId`
   */
  filterTools?: boolean
}

/**
 * Governs an MCP `Client`: the result is the same client (same class, connection, every other
 * method), whose `callTool` first passes Haldir's gate — scope, liveness and budget, with the
 * tool's cost reserved in one backend call — then is settled and audited, and whose
 * `listTools` shows only the tools the session may call. A tool's own error result
 * (`isError: true`) is returned as it is and not charged; a failed or timed-out call releases
 * the hold and rejects with a typed `UpstreamError` / `UpstreamTimeoutError`.
 * Scope and cost per tool name use the shared vocabulary (`scope`/`scopes`, `cost`/`costs`,
 * `maxCost`/`maxCosts`); a cost may also be read from the arguments (`{ argument: 'amount' }`).
 *
 * @example
 * const client = new Client({ name: 'agent', version: '1.0.0' })
 * await client.connect(new StdioClientTransport({ command: 'npx', args: ['-y', '@modelcontextprotocol/server-everything'] }))
 * const governed = withHaldir(client, { haldir, sessionId: session.id, scopes: { echo: 'read' }, costs: { echo: 0.001 } })
 * await governed.callTool({ name: 'echo', arguments: { message: 'hi' } })
 */
export function withHaldir<T extends GovernableClient>(client: T, options: HaldirClientOptions): T {
  if (typeof client !== 'object' || client === null || typeof client.callTool !== 'function' || typeof client.listTools !== 'function') {
    throw new ValidationError({ issues: [{ path: 'client', message: 'must be an MCP Client (with callTool and listTools)' }] })
  }
  const { haldir } = options
  if (typeof haldir !== 'object' || haldir === null || typeof haldir.gate !== 'function') {
    throw new ValidationError({ issues: [{ path: 'haldir', message: 'must be a Haldir client from createHaldir()' }] })
  }
  const pickSession = options.sessionId
  if (typeof pickSession !== 'string' && typeof pickSession !== 'function') {
    throw new ValidationError({ issues: [{ path: 'sessionId', message: 'must be a session id or a function of the call' }] })
  }
  const onDenied = options.onDenied ?? 'message'
  if (onDenied !== 'message' && onDenied !== 'throw') throw new ValidationError({ issues: [{ path: 'onDenied', message: "must be 'message' or 'throw'" }] })
  if (options.filterTools === true && typeof pickSession !== 'string') {
    throw new ValidationError({ issues: [{ path: 'filterTools', message: 'needs a fixed sessionId: the tools listed depend on one session' }] })
  }
  const filterTools = options.filterTools ?? typeof pickSession === 'string'
  const record = options.recordInput ?? true
  const policies = createPolicyTable(options)

  async function callTool(params: CallToolRequestParams, resultSchema?: Parameters<Client['callTool']>[1], requestOptions?: Parameters<Client['callTool']>[2]) {
    const args = params.arguments ?? {}
    const outcome = await governToolCall({
      haldir,
      sessionId: typeof pickSession === 'function' ? pickSession(params) : pickSession,
      auditName: params.name,
      policy: policies.get(params.name),
      args,
      details: recordedInput(record, args),
      run: () => client.callTool(params, resultSchema, requestOptions) as Promise<CallToolResult>,
      toolError: (result) => (result.isError === true ? toolResultText(result) : undefined),
      toError: (error) => toUpstreamError(error, { tool: params.name, timeoutMs: requestOptions?.timeout, signal: requestOptions?.signal }),
    })
    if (outcome.allowed) return outcome.result
    if (onDenied === 'throw') throw outcome.error
    return blockedToolResult(outcome)
  }

  async function listTools(...listArguments: Parameters<Client['listTools']>) {
    const listed = await client.listTools(...listArguments)
    if (!filterTools) return listed
    const session = await haldir.getSession(pickSession as string)
    const live = isLive(session)
    return {
      ...listed,
      tools: listed.tools.filter((tool) => {
        const scope = policies.get(tool.name).scope
        return live && (scope === null || scopesAllow(session.scopes, scope))
      }),
    }
  }

  // A live view of the client: every other member, `this` included, is the original's.
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(client, {
    get(target, property) {
      if (property === 'callTool') return callTool
      if (property === 'listTools') return listTools
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      let method = bound.get(property)
      if (method === undefined || (method as { original?: unknown }).original !== value) {
        method = Object.assign((value as (...parameters: unknown[]) => unknown).bind(target), { original: value })
        bound.set(property, method)
      }
      return method
    },
  })
}
