import { nameSchema, scopesAllow } from '@haldir/core/backend'
import type { Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { HaldirApiError, INVALID_SESSION, plainError } from '../haldir-api-error.ts'
import { liveSession } from '../live-session.ts'
import { blockingPolicy, parseProxyPolicy } from '../proxy-policies.ts'
import { reportedScopes } from '../session-scopes.ts'
import { upstreamSession } from './sessions-routes.ts'

/** Upstream's answer for a call the proxy refuses (shape F): 403, an MCP tool error naming Haldir. */
function blocked(message: string): HaldirApiError {
  return new HaldirApiError({ status: 403, body: { content: [{ type: 'text', text: JSON.stringify({ error: message, blocked_by: 'haldir' }) }], isError: true } })
}

/**
 * The MCP proxy (`HALDIR-API.md` §15), per tenant, on `@haldir/mcp`: register an upstream (only
 * one the operator allowed), list upstreams and tools, add and list policies, and call a tool
 * as a session. The call's pipeline is upstream's: resolve the name, the upstream is healthy,
 * the session is valid, it holds `execute` or `read`, no policy blocks; then the governed call
 * (gate, forward, settle, audit on the session's own chain). A refusal before the call is
 * audited on the session (flagged) and answered as upstream's 403; the upstream tool's own error
 * is returned as it is, with 200 (upstream turns it into a 403).
 *
 * Approvals (§13) decide between the policies and the call (the gate, with the tenant's and the
 * session's rules): a call a rule matches answers 200 `approval_required` with its `request_id`.
 */
export function mountProxyRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { backend, auth, idempotency, proxies } = context

  app.post('/v1/proxy/upstreams', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'registerUpstream')
    const body = (await context.readJson(c)) as Record<string, unknown>
    const { name, url } = body ?? {}
    if (typeof name !== 'string' || name === '' || typeof url !== 'string' || url === '') throw plainError(400, 'name and url are required')
    const work = async () => {
      const registered = await proxies.register(tenant, name, url)
      return {
        status: 201,
        body: { registered: true, name, url, healthy: registered.healthy, tools_discovered: registered.tools.length, tool_names: registered.tools.map((tool) => tool.name), ...(registered.error ? { error: registered.error } : {}) },
      }
    }
    return idempotency.respond(c, { tenant, route: '/v1/proxy/upstreams', body }, work)
  })

  app.get('/v1/proxy/upstreams', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listUpstreams')
    const upstreams = proxies.upstreams(tenant)
    const bare = new Set<string>()
    for (const upstream of upstreams) for (const tool of upstream.tools) bare.add(tool.name)
    const namespaced = upstreams.reduce((sum, upstream) => sum + upstream.tools.length, 0)
    return c.json({
      upstreams: Object.fromEntries(
        upstreams.map((upstream) => [
          upstream.name,
          {
            url: upstream.url,
            healthy: upstream.healthy,
            tools: upstream.tools.length,
            total_calls: upstream.calls,
            total_errors: upstream.errors,
            avg_latency_ms: upstream.calls === 0 ? 0 : Math.round((upstream.latencyMs / upstream.calls) * 10) / 10,
            last_check: upstream.lastCheck,
          },
        ]),
      ),
      // Upstream counts its tool map: every `upstream.tool` and each bare name once.
      total_tools: namespaced + bare.size,
      policies: proxies.policies(tenant).length,
    })
  })

  app.get('/v1/proxy/tools', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listProxyTools')
    const tools = proxies
      .upstreams(tenant)
      .filter((upstream) => upstream.healthy)
      .flatMap((upstream) => upstream.tools.map((tool) => ({ name: tool.name, description: tool.description, upstream: upstream.name, inputSchema: tool.inputSchema })))
    return c.json({ count: tools.length, tools })
  })

  app.post('/v1/proxy/policies', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'addProxyPolicy')
    const body = await context.readJson(c)
    const policy = parseProxyPolicy(body)
    const work = async () => {
      proxies.addPolicy(tenant, policy)
      return { status: 201, body: { added: true, type: policy.type } }
    }
    return idempotency.respond(c, { tenant, route: '/v1/proxy/policies', body }, work)
  })

  app.get('/v1/proxy/policies', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listProxyPolicies')
    const policies = proxies.policies(tenant)
    return c.json({ policies, count: policies.length })
  })

  app.post('/v1/proxy/call', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'callProxyTool')
    const body = (await context.readJson(c)) as Record<string, unknown>
    const tool = body?.tool
    const sessionId = body?.session_id
    if (typeof tool !== 'string' || tool === '') throw plainError(400, 'tool is required')
    if (!nameSchema.safeParse(tool).success) throw plainError(400, 'tool must be 1 to 200 characters of text')
    if (typeof sessionId !== 'string' || sessionId === '') throw plainError(400, 'session_id is required')
    const args = body.arguments === undefined || body.arguments === null ? {} : body.arguments
    if (typeof args !== 'object' || Array.isArray(args)) throw plainError(400, 'arguments must be a JSON object')
    const work = async () => {
      const session = await liveSession(backend, tenant, sessionId)
      if (!session) throw plainError(401, INVALID_SESSION)
      // Refusals before the call are audited on the session, as every decision is here.
      const refuse = async (message: string) => {
        await backend.appendAudit({ tenant, sessionId, tool: tool.replaceAll('.', '__').slice(0, 200), action: 'proxy_call', scope: null, outcome: 'denied', flagged: true, reason: message, costMicros: 0, details: { tool } })
        return { status: 403, body: blocked(message).body }
      }
      const resolved = proxies.resolve(tenant, tool)
      if (!resolved) return { status: 403, body: blocked(`Unknown tool: ${tool}. Not registered with any upstream server.`).body }
      if (!resolved.upstream.healthy) return { status: 403, body: blocked(`Upstream server '${resolved.upstream.name}' is not healthy.`).body }
      if (!scopesAllow(session.scopes, 'execute') && !scopesAllow(session.scopes, 'read')) {
        const scopes = (upstreamSession(session).scopes ?? reportedScopes(session.scopes)).map((scope) => `'${scope}'`).join(', ')
        return refuse(`Session lacks permission to call tools. Scopes: [${scopes}]`)
      }
      const policy = blockingPolicy(proxies.policies(tenant), { calledName: tool, arguments: args as Record<string, unknown>, recentCalls: proxies.recentCalls(tenant, session.agentId), now: new Date() })
      if (policy) return refuse(policy)
      // Approvals (§13): the gate sends a call its rules match to a person and answers
      // `approval_required` with its id (the amount held); the same call with `approval_id` goes on once approved.
      const approvalId = typeof body.approval_id === 'string' && body.approval_id !== '' ? body.approval_id : undefined
      const result = await proxies.call(tenant, resolved.upstream, resolved.tool, sessionId, session.agentId, args as Record<string, unknown>, approvalId)
      const refusedByGate = result.isError === true && typeof (result._meta as { haldir?: { code?: unknown } } | undefined)?.haldir?.code === 'string' && isGateRefusal(result)
      if (refusedByGate) return { status: 403, body: blocked(textOf(result)).body }
      return { status: 200, body: result.content === undefined && result.structuredContent === undefined ? { content: [{ type: 'text', text: 'Empty response' }] } : result }
    }
    const keep = (answer: { status: number }) => answer.status === 200 || answer.status === 403
    return idempotency.respond(c, { tenant, route: '/v1/proxy/call', body, keep }, work)
  })
}

function textOf(result: { content?: unknown }): string {
  const first = Array.isArray(result.content) ? (result.content[0] as { text?: unknown } | undefined) : undefined
  return typeof first?.text === 'string' ? first.text.replace(/^(BLOCKED|ERROR): /, '') : 'refused'
}

/** The proxy's own refusals and failures (`BLOCKED: …`, `ERROR: …`), as opposed to the tool's own error result. */
function isGateRefusal(result: { content?: unknown }): boolean {
  const first = Array.isArray(result.content) ? (result.content[0] as { text?: unknown } | undefined) : undefined
  return typeof first?.text === 'string' && /^(BLOCKED|ERROR): /.test(first.text)
}
