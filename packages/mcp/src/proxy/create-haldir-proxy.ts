import { type Haldir, HaldirError } from '@haldir/core'
import { scopesAllow } from '@haldir/core/backend'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { ProgressCallback } from '@modelcontextprotocol/sdk/shared/protocol.js'
import { type CallToolResult, CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js'
import { blockedToolResult } from '../blocked-tool-result.ts'
import { toUpstreamError } from '../errors/to-upstream-error.ts'
import { UpstreamError } from '../errors/upstream-error.ts'
import { UpstreamTimeoutError } from '../errors/upstream-timeout-error.ts'
import { failedToolResult } from '../failed-tool-result.ts'
import { governToolCall } from '../internal/govern-tool-call.ts'
import { pendingToolResult } from '../pending-tool-result.ts'
import { blockedText } from '../internal/blocked-text.ts'
import { isLive } from '../internal/is-live.ts'
import { toolResultText } from '../internal/tool-result-text.ts'
import { buildToolCatalog, checkPolicyKeys, type ProxiedTool } from './build-tool-catalog.ts'
import { connectUpstream, type Upstream } from './connect-upstream.ts'
import { parseProxyConfig, type ProxyConfig, type ProxyConfigInput } from './proxy-config.ts'
import { registerPassThrough } from './register-pass-through.ts'

export interface HaldirProxyOptions {
  haldir: Haldir
  /** The configuration (validated here): upstreams, per-tool scope and cost, timeouts. */
  config: ProxyConfigInput | ProxyConfig
  /** Where notes go (upstream stderr, reconnects, left-out tools). Never stdout. @default a line on stderr */
  log?: (line: string) => void
}

/** One governed `tools/call`'s options: the downstream request's cancellation and progress. */
export interface ProxyCallOptions {
  signal?: AbortSignal
  onprogress?: ProgressCallback
  /** A call sent to a person: wait for the decision (default), or answer at once with the approval (`approval_required`). */
  onPending?: 'wait' | 'return'
  /** Go on with the approval an earlier attempt of this call was sent to. */
  approvalId?: string
}

/** The governing proxy over its connected upstreams; serve it with `serveProxyStdio` / `serveProxyHttp`. */
export interface HaldirProxy {
  readonly haldir: Haldir
  /** Every tool served, by the name clients see (before any session's scopes are applied). */
  readonly tools: ReadonlyMap<string, ProxiedTool>
  /** The tools the session may call: its scopes allow each one's scope; none once it is revoked or expired. */
  listTools(sessionId: string): Promise<Tool[]>
  /**
   * One `tools/call` through the gate and on to its upstream. It resolves to an MCP tool
   * result in every case: the upstream's own, a `BLOCKED: …` refusal, or an `ERROR: …` for an
   * upstream that failed or timed out (the hold released, the failure audited).
   */
  callTool(sessionId: string, params: { name: string; arguments?: Record<string, unknown> }, options?: ProxyCallOptions): Promise<CallToolResult>
  /** An MCP server for one client connection, every request governed as the given session. */
  createServer(sessionId: string): Server
  /** Closes every client connection and upstream. */
  close(): Promise<void>
}

const SERVER_INFO = { name: 'haldir-mcp-proxy', version: '1.0.0' }
/** Starting a server (npx may download it) takes longer than a call should: connecting gets at least this. */
const CONNECT_TIMEOUT_MS = 30_000

/**
 * Connects to every configured upstream, lists their tools and returns the governing proxy.
 * Every `tools/call` passes Haldir's gate (scope, liveness, budget with the tool's cost, or the
 * cost in its arguments) before it is forwarded, and is settled and audited after; refusals and
 * failures come back as MCP tool errors the model can read.
 *
 * @throws ValidationError for a bad configuration, or a policy key that names no tool
 * @throws UpstreamError when an upstream cannot be started or reached
 */
export async function createHaldirProxy(options: HaldirProxyOptions): Promise<HaldirProxy> {
  const config = parseProxyConfig(options.config)
  const { haldir } = options
  const log = options.log ?? ((line: string) => process.stderr.write(`haldir-mcp: ${line}\n`))
  const policy = { scope: config.scope, scopes: config.scopes, cost: config.cost, costs: config.costs, maxCost: config.maxCost, maxCosts: config.maxCosts }
  const servers = new Set<Server>()
  let catalog = new Map<string, ProxiedTool>()

  const refresh = () => {
    try {
      catalog = buildToolCatalog(upstreams, { namespace: config.namespace, policy, log })
    } catch (error) {
      // A clash that appears later keeps the last good catalog rather than serving ambiguous names.
      log(`tool list not refreshed: ${error instanceof Error ? error.message : String(error)}`)
      return
    }
    for (const server of servers) server.sendToolListChanged().catch(() => {})
  }

  const upstreams: Upstream[] = []
  try {
    for (const [name, upstream] of Object.entries(config.upstreams)) {
      upstreams.push(await connectUpstream(name, upstream, { timeoutMs: Math.max(CONNECT_TIMEOUT_MS, upstream.timeoutMs ?? config.timeoutMs), log, onToolsChanged: () => refresh() }))
    }
    catalog = buildToolCatalog(upstreams, { namespace: config.namespace, policy, log })
    checkPolicyKeys(catalog, policy)
  } catch (error) {
    await Promise.all(upstreams.map((upstream) => upstream.close().catch(() => {})))
    throw error
  }

  async function listTools(sessionId: string): Promise<Tool[]> {
    const session = await haldir.getSession(sessionId)
    if (!isLive(session)) return []
    const tools: Tool[] = []
    for (const tool of catalog.values()) if (tool.policy.scope === null || scopesAllow(session.scopes, tool.policy.scope)) tools.push(tool.definition)
    return tools
  }

  async function callTool(sessionId: string, params: { name: string; arguments?: Record<string, unknown> }, callOptions: ProxyCallOptions = {}): Promise<CallToolResult> {
    const tool = catalog.get(params.name)
    if (!tool) return { content: [{ type: 'text', text: blockedText(`unknown tool '${params.name}'`) }], isError: true, _meta: { haldir: { code: 'not_found' } } }
    const args = params.arguments ?? {}
    const timeoutMs = tool.upstream.config.timeoutMs ?? config.timeoutMs
    const where = { upstream: tool.upstream.name, tool: tool.upstreamName, timeoutMs, ...(callOptions.signal ? { signal: callOptions.signal } : {}) }
    try {
      const outcome = await governToolCall({
        haldir,
        sessionId,
        auditName: tool.name,
        policy: tool.policy,
        args,
        details: config.recordInput ? { args, upstream: tool.upstream.name } : { upstream: tool.upstream.name },
        run: () =>
          tool.upstream.callTool(
            { name: tool.upstreamName, arguments: args },
            { timeout: timeoutMs, ...(callOptions.signal ? { signal: callOptions.signal } : {}), ...(callOptions.onprogress ? { onprogress: callOptions.onprogress } : {}) },
          ),
        toolError: (result) => (result.isError === true ? toolResultText(result) : undefined),
        toError: (error) => toUpstreamError(error, where),
        ...(callOptions.onPending ? { onPending: callOptions.onPending } : {}),
        ...(callOptions.approvalId ? { approvalId: callOptions.approvalId } : {}),
      })
      if (!outcome.allowed && outcome.approval) return pendingToolResult(outcome.approval)
      return outcome.allowed ? outcome.result : blockedToolResult(outcome)
    } catch (error) {
      if (UpstreamError.isInstance(error) || UpstreamTimeoutError.isInstance(error)) return failedToolResult(error)
      // Anything else came from Haldir itself (an unknown session, an unreachable backend): nothing is forwarded.
      if (HaldirError.isInstance(error)) return blockedToolResult({ error, reason: error.message })
      log(`tools/call '${params.name}' failed unexpectedly: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      return { content: [{ type: 'text', text: 'ERROR: the proxy failed unexpectedly (see its log); nothing was charged' }], isError: true }
    }
  }

  function createServer(sessionId: string): Server {
    const resources = upstreams.filter((upstream) => upstream.config.resources && upstream.capabilities?.resources)
    const prompts = upstreams.filter((upstream) => upstream.config.prompts && upstream.capabilities?.prompts)
    const server = new Server(SERVER_INFO, {
      capabilities: { tools: { listChanged: true }, ...(resources.length > 0 ? { resources: {} } : {}), ...(prompts.length > 0 ? { prompts: {} } : {}) },
    })
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: await listTools(sessionId) }))
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const progressToken = request.params._meta?.progressToken
      return callTool(sessionId, request.params, {
        signal: extra.signal,
        // Progress from the upstream is relayed under the token the client chose.
        ...(progressToken === undefined
          ? {}
          : { onprogress: (progress) => void extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } }).catch(() => {}) }),
      })
    })
    registerPassThrough(server, {
      resources,
      prompts,
      timeoutMs: config.timeoutMs,
      ensureLive: async () => {
        const session = await haldir.getSession(sessionId)
        if (!isLive(session)) throw new McpError(ErrorCode.InvalidRequest, `Haldir session ${sessionId} is revoked or expired`)
      },
    })
    servers.add(server)
    server.onclose = () => servers.delete(server)
    return server
  }

  return {
    haldir,
    get tools() {
      return catalog
    },
    listTools,
    callTool,
    createServer,
    async close() {
      await Promise.all([...servers].map((server) => server.close().catch(() => {})))
      await Promise.all(upstreams.map((upstream) => upstream.close().catch(() => {})))
    },
  }
}
