import { BackendError, createHaldir, type Haldir, type HaldirBackend } from '@haldir/core'
import { codedError, plainError } from './haldir-api-error.ts'
import type { ProxyPolicy } from './proxy-policies.ts'

/**
 * What the registry uses of `@haldir/mcp`'s governing proxy (`createHaldirProxy`). Described
 * here rather than imported: `@haldir/mcp` is optional, loaded only when a tenant registers an
 * upstream (its own tests import `@haldir/server`, so a declared dependency would be a cycle).
 * `proxy-registry.test.ts` checks the real function fits.
 */
export interface GoverningProxy {
  readonly tools: ReadonlyMap<string, { upstreamName: string; definition: { description?: string | undefined; inputSchema: unknown } }>
  callTool(sessionId: string, params: { name: string; arguments?: Record<string, unknown> }, options?: { onPending?: 'wait' | 'return'; approvalId?: string }): Promise<ProxyToolResult>
  close(): Promise<void>
}

/** An MCP tool result, as the proxy returns it. */
export interface ProxyToolResult {
  content?: unknown
  structuredContent?: unknown
  isError?: boolean | undefined
  _meta?: Record<string, unknown> | undefined
  [key: string]: unknown
}

export type CreateGoverningProxy = (options: {
  haldir: Haldir
  config: { upstreams: Record<string, { url: string; headers?: Record<string, string>; timeoutMs?: number }>; namespace: 'always'; scope: null }
  log: (line: string) => void
}) => Promise<GoverningProxy>

/** An upstream MCP server the operator allows tenants to register: its URL, and what the server sends it. */
export interface McpUpstreamAllowance {
  /** A Streamable HTTP endpoint (`http(s)://…`), matched exactly (after URL normalisation). */
  url: string
  /** Headers sent to it (credentials the operator holds; tenants never see them). */
  headers?: Record<string, string>
  timeoutMs?: number
}

/** The outcome of registering an upstream, in upstream's words (`HALDIR-API.md` §15.1). */
export interface RegisteredUpstream {
  name: string
  url: string
  healthy: boolean
  tools: { name: string; description: string; inputSchema: unknown }[]
  error?: string
}

interface TenantUpstream extends RegisteredUpstream {
  proxy: GoverningProxy | null
  calls: number
  errors: number
  latencyMs: number
  lastCheck: number
}

interface TenantProxy {
  /** In registration order: a bare tool name belongs to the first upstream that offered it. */
  upstreams: Map<string, TenantUpstream>
  policies: ProxyPolicy[]
  /** Call times per agent, for `rate_limit` policies. */
  recent: Map<string, number[]>
}

const UPSTREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/
const MAX_UPSTREAMS = 32
const MAX_POLICIES = 256

export type ProxyRegistry = ReturnType<typeof proxyRegistry>

/**
 * The MCP proxy of the Haldir API (`HALDIR-API.md` §15), per tenant: each tenant registers its
 * own upstreams and policies (upstream keeps one set for every tenant, §18 #12). A tenant may
 * register only a URL the operator allowed (`allowed`): the server never fetches a URL a caller
 * chose (SSRF), and never echoes what an upstream answered. Each upstream is a governing
 * `@haldir/mcp` proxy over the tenant's sessions: every call passes the gate (liveness, and the
 * budget of a call that costs nothing: the proxy never charges, as upstream) and is audited on
 * the calling session's chain. State lives in this process: registrations and policies are lost
 * on restart and not shared between server processes.
 */
export function proxyRegistry(options: { backend: HaldirBackend; allowed: readonly McpUpstreamAllowance[]; log: (line: string) => void }) {
  const allowed = new Map(options.allowed.map((allowance) => [normalise(allowance.url), allowance]))
  const tenants = new Map<string, TenantProxy>()
  const tenantOf = (tenant: string): TenantProxy => {
    let found = tenants.get(tenant)
    if (!found) tenants.set(tenant, (found = { upstreams: new Map(), policies: [], recent: new Map() }))
    return found
  }

  return {
    async register(tenant: string, name: string, url: string): Promise<RegisteredUpstream> {
      if (!UPSTREAM_NAME.test(name) || name.includes('__')) throw plainError(400, "name must be 1-64 letters, digits, '_' or '-' (no '__'), starting with a letter or digit")
      const allowance = allowed.get(normalise(url))
      if (!allowance) throw codedError(403, 'upstream_not_allowed', "this upstream URL is not in the server's allow-list (haldir serve --mcp-upstream URL)", { url })
      const proxies = tenantOf(tenant)
      if (!proxies.upstreams.has(name) && proxies.upstreams.size >= MAX_UPSTREAMS) throw codedError(400, 'too_many_upstreams', `a tenant registers at most ${MAX_UPSTREAMS} upstreams`)
      const entry: TenantUpstream = { name, url, healthy: false, tools: [], proxy: null, calls: 0, errors: 0, latencyMs: 0, lastCheck: Date.now() / 1000 }
      try {
        const { createHaldirProxy } = await loadProxyModule()
        const proxy = await createHaldirProxy({
          haldir: createHaldir({ backend: options.backend, tenant }),
          config: { upstreams: { [name]: { url: allowance.url, ...(allowance.headers ? { headers: allowance.headers } : {}), ...(allowance.timeoutMs ? { timeoutMs: allowance.timeoutMs } : {}) } }, namespace: 'always', scope: null },
          log: (line) => options.log(`mcp proxy (tenant ${tenant}): ${line}`),
        })
        entry.proxy = proxy
        entry.healthy = true
        entry.tools = [...proxy.tools.values()].map((tool) => ({ name: tool.upstreamName, description: tool.definition.description ?? '', inputSchema: tool.definition.inputSchema }))
      } catch (error) {
        // Registered anyway, unhealthy, as upstream does; the reason without anything the upstream sent.
        entry.error = `discovery failed: ${error instanceof Error ? error.message.split('\n')[0]?.slice(0, 200) : 'unknown error'}`
        if (BackendError.isInstance(error) && error.status === 501) throw error
      }
      const previous = proxies.upstreams.get(name)
      // Registering a name again replaces it (and keeps its place in the order).
      proxies.upstreams.set(name, entry)
      await previous?.proxy?.close().catch(() => {})
      const { proxy: _proxy, calls: _calls, errors: _errors, latencyMs: _latency, lastCheck: _check, ...registered } = entry
      return registered
    },

    upstreams(tenant: string) {
      return [...(tenants.get(tenant)?.upstreams.values() ?? [])]
    },

    /** Resolves a name as called: `upstream.tool`, or a bare tool of the first upstream that offers it. */
    resolve(tenant: string, calledName: string): { upstream: TenantUpstream; tool: string } | null {
      const proxies = tenants.get(tenant)
      if (!proxies) return null
      const dot = calledName.indexOf('.')
      if (dot > 0) {
        const upstream = proxies.upstreams.get(calledName.slice(0, dot))
        const tool = calledName.slice(dot + 1)
        return upstream?.tools.some((offered) => offered.name === tool) ? { upstream, tool } : null
      }
      for (const upstream of proxies.upstreams.values()) if (upstream.tools.some((offered) => offered.name === calledName)) return { upstream, tool: calledName }
      return null
    },

    /** Forwards a governed call through the upstream's proxy; counts it for the stats and the agent's rate. */
    async call(tenant: string, upstream: TenantUpstream, tool: string, sessionId: string, agentId: string, args: Record<string, unknown>, approvalId?: string) {
      const proxy = upstream.proxy
      if (!proxy) throw new Error(`upstream ${upstream.name} has no connection`)
      const recent = tenantOf(tenant).recent
      recent.set(agentId, [...(recent.get(agentId) ?? []), Date.now()].slice(-1000))
      const started = performance.now()
      // A call sent to a person answers at once (`approval_required`), as upstream's step 6 does; never an HTTP request held open.
      const result = await proxy.callTool(sessionId, { name: `${upstream.name}__${tool}`, arguments: args }, { onPending: 'return', ...(approvalId ? { approvalId } : {}) })
      upstream.calls++
      upstream.latencyMs += performance.now() - started
      upstream.lastCheck = Date.now() / 1000
      if (result.isError === true) upstream.errors++
      return result
    },

    /** Calls of an agent through the tenant's proxy in the last minute. */
    recentCalls(tenant: string, agentId: string, now = Date.now()): number {
      const times = tenants.get(tenant)?.recent.get(agentId) ?? []
      return times.filter((time) => time > now - 60_000).length
    },

    policies: (tenant: string): ProxyPolicy[] => [...(tenants.get(tenant)?.policies ?? [])],

    addPolicy(tenant: string, policy: ProxyPolicy): void {
      const proxies = tenantOf(tenant)
      if (proxies.policies.length >= MAX_POLICIES) throw codedError(400, 'too_many_policies', `a tenant adds at most ${MAX_POLICIES} policies`)
      proxies.policies.push(policy)
    },

    async close(): Promise<void> {
      const closing = [...tenants.values()].flatMap((proxies) => [...proxies.upstreams.values()].map((upstream) => upstream.proxy?.close().catch(() => {})))
      tenants.clear()
      await Promise.all(closing)
    },
  }
}

function normalise(url: string): string {
  try {
    return new URL(url).href
  } catch {
    return url
  }
}

/** `@haldir/mcp` is an optional peer: loaded when a tenant first registers an upstream. */
async function loadProxyModule(): Promise<{ createHaldirProxy: CreateGoverningProxy }> {
  // A variable specifier: servers without MCP upstreams never need the package.
  const name = '@haldir/mcp/proxy'
  try {
    return (await import(name)) as { createHaldirProxy: CreateGoverningProxy }
  } catch (error) {
    throw new BackendError({ message: 'the MCP proxy needs @haldir/mcp: pnpm add @haldir/mcp @modelcontextprotocol/sdk', status: 501, cause: error })
  }
}
