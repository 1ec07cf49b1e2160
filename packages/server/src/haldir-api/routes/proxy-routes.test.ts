import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HaldirApiServer, haldirApiServer } from '../haldir-api.test-helper.ts'
import { mcpUpstream } from '../mcp-upstream.test-helper.ts'

let upstream: Awaited<ReturnType<typeof mcpUpstream>>
let trap: Awaited<ReturnType<typeof mcpUpstream>>
let api: HaldirApiServer
let caller: string
beforeAll(async () => {
  upstream = await mcpUpstream()
  trap = await mcpUpstream()
  api = await haldirApiServer({ mcpUpstreams: [upstream.url] })
  caller = ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'proxy-caller', scopes: ['read', 'execute'] } })).body as { session_id: string }).session_id
})
afterAll(async () => {
  await api.close()
  await upstream.close()
  await trap.close()
})

const text = (body: Record<string, unknown>) => ((body.content as { text: string }[])[0] as { text: string }).text
const call = (tool: string, args: Record<string, unknown> = {}, session = caller, headers: Record<string, string> = {}) =>
  api.call('POST', '/v1/proxy/call', { body: { tool, session_id: session, arguments: args }, headers })

describe('the MCP proxy over the Haldir API (HALDIR-API.md §15), per tenant', () => {
  it('registers only an upstream the operator allowed (never fetching another URL), and discovers its tools', async () => {
    const refused = await api.call('POST', '/v1/proxy/upstreams', { body: { name: 'evil', url: trap.url } })
    expect(refused).toMatchObject({ status: 403, body: { code: 'upstream_not_allowed', url: trap.url } })
    expect(trap.requests()).toBe(0)
    expect(await api.call('POST', '/v1/proxy/upstreams', { body: { name: 'pay' } })).toMatchObject({ status: 400, body: { error: 'name and url are required' } })
    expect((await api.call('POST', '/v1/proxy/upstreams', { body: { name: 'a__b', url: upstream.url } })).status).toBe(400)
    expect((await api.call('POST', '/v1/proxy/upstreams', { key: api.keys.agent, body: { name: 'pay', url: upstream.url } })).status).toBe(403)
    const registered = await api.call('POST', '/v1/proxy/upstreams', { body: { name: 'pay', url: upstream.url } })
    expect(registered).toMatchObject({ status: 201 })
    expect(registered.body).toEqual({ registered: true, name: 'pay', url: upstream.url, healthy: true, tools_discovered: 3, tool_names: ['charge', 'echo', 'refuse'] })
    const tools = await api.call('GET', '/v1/proxy/tools', { key: api.keys.auditor })
    expect(tools.body).toMatchObject({ count: 3, tools: expect.arrayContaining([{ name: 'charge', description: 'Charges a card', upstream: 'pay', inputSchema: expect.objectContaining({ type: 'object' }) }]) })
    const upstreams = await api.call('GET', '/v1/proxy/upstreams')
    expect(upstreams.body).toEqual({
      upstreams: { pay: { url: upstream.url, healthy: true, tools: 3, total_calls: 0, total_errors: 0, avg_latency_ms: 0, last_check: expect.any(Number) } },
      total_tools: 6,
      policies: 0,
    })
    // Another tenant sees none of it.
    expect((await api.call('GET', '/v1/proxy/tools', { key: api.globex })).body).toEqual({ count: 0, tools: [] })
  })

  it('forwards a governed call by bare or dotted name, audited on the session; the tool\'s own error is a 200 with isError', async () => {
    const charged = await call('charge', { amount: 3 })
    expect(charged).toMatchObject({ status: 200, body: { content: [{ type: 'text', text: 'charged $3' }] } })
    expect((await call('pay.echo', { message: 'hi' })).body).toMatchObject({ content: [{ type: 'text', text: 'echo: hi' }] })
    const declined = await call('refuse')
    expect(declined).toMatchObject({ status: 200, body: { isError: true, content: [{ type: 'text', text: 'card declined' }] } })
    const trail = (await api.call('GET', `/v1/audit?session_id=${caller}`)).body as { entries: { tool: string; outcome: string }[] }
    expect(trail.entries.filter((entry) => entry.tool.startsWith('pay__')).map((entry) => `${entry.tool}:${entry.outcome}`)).toEqual(
      expect.arrayContaining(['pay__charge:ok', 'pay__echo:ok', 'pay__refuse:error']),
    )
    expect((await api.call('GET', '/v1/proxy/upstreams')).body).toMatchObject({ upstreams: { pay: { total_calls: 3, total_errors: 1 } } })
    // Never charged: the proxy only meters, as upstream.
    expect((await api.call('GET', `/v1/sessions/${caller}`)).body).toMatchObject({ spent: 0 })
  })

  it('blocks in upstream\'s order and shape (403, isError, blocked_by haldir): unknown tool, scope, policies; a dead session is 401', async () => {
    const blocked = (message: string) => ({ status: 403, body: { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: message, blocked_by: 'haldir' }) }] } })
    expect(await call('teleport')).toMatchObject(blocked('Unknown tool: teleport. Not registered with any upstream server.'))
    const browser = ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'browser', scopes: ['browse'] } })).body as { session_id: string }).session_id
    expect(await call('echo', { message: 'x' }, browser)).toMatchObject(blocked("Session lacks permission to call tools. Scopes: ['browse']"))
    expect((await api.call('GET', `/v1/audit?session_id=${browser}&flagged=true`)).body).toMatchObject({ count: 1, entries: [{ action: 'proxy_call', outcome: 'denied' }] })

    for (const policy of [{ type: 'block_tool', tool: 'echo' }, { type: 'spend_limit', max: 5 }, { policy_type: 'rate_limit', type: 'ignored', max_per_minute: 100 }]) {
      expect(await api.call('POST', '/v1/proxy/policies', { body: policy })).toMatchObject({ status: 201, body: { added: true } })
    }
    expect(await api.call('POST', '/v1/proxy/policies', { body: { type: 'spend_limit' } })).toMatchObject({ status: 400, body: { code: 'invalid_policy' } })
    expect(await api.call('POST', '/v1/proxy/policies', { body: {} })).toMatchObject({ status: 400, body: { error: 'type is required' } })
    expect((await api.call('GET', '/v1/proxy/policies')).body).toMatchObject({ count: 3, policies: [{ type: 'block_tool', tool: 'echo' }, { type: 'spend_limit', max: 5 }, { type: 'rate_limit' }] })
    expect(await call('pay.echo', { message: 'x' })).toMatchObject(blocked("Tool 'pay.echo' is blocked by policy."))
    expect(await call('charge', { amount: 10 })).toMatchObject(blocked('Spend $10.00 exceeds per-call limit $5.00'))
    const before = upstream.calls.length
    expect((await call('charge', { amount: 5 })).status).toBe(200)
    expect(upstream.calls.length).toBe(before + 1)

    await api.call('DELETE', `/v1/sessions/${browser}`)
    expect(await call('charge', { amount: 1 }, browser)).toMatchObject({ status: 401, body: { error: 'Invalid or expired session' } })
    expect(await api.call('POST', '/v1/proxy/call', { body: { session_id: caller } })).toMatchObject({ status: 400, body: { error: 'tool is required' } })
    expect(await api.call('POST', '/v1/proxy/call', { body: { tool: 'charge' } })).toMatchObject({ status: 400, body: { error: 'session_id is required' } })
    // Another tenant's call: its proxy has no such tool.
    expect((await api.call('POST', '/v1/proxy/call', { key: api.globex, body: { tool: 'charge', session_id: caller, arguments: { amount: 1 } } })).status).toBe(401)
  })

  it('runs a call once for one Idempotency-Key', async () => {
    const headers = { 'idempotency-key': `proxy-${Math.random()}` }
    const before = upstream.calls.length
    const answers = await Promise.all(Array.from({ length: 5 }, () => call('charge', { amount: 1 }, caller, headers)))
    expect(answers.every((answer) => answer.status === 200 && text(answer.body) === 'charged $1')).toBe(true)
    expect(upstream.calls.length).toBe(before + 1)
  })
})
