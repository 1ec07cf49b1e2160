import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HaldirApiServer, haldirApiServer } from '../haldir-api.test-helper.ts'
import { mcpUpstream } from '../mcp-upstream.test-helper.ts'

let api: HaldirApiServer
let upstream: Awaited<ReturnType<typeof mcpUpstream>>
beforeAll(async () => {
  upstream = await mcpUpstream()
  api = await haldirApiServer({ mcpUpstreams: [upstream.url] })
})
afterAll(async () => {
  await api.close()
  await upstream.close()
})

async function session(spend = 5, scopes: string[] = ['read', 'execute']) {
  const created = await api.call<{ session_id: string }>('POST', '/v1/sessions', { key: api.keys.agent, body: { agent_id: `buyer-${Math.random().toString(36).slice(2, 7)}`, scopes: [...scopes, `spend:${spend}`] } })
  return created.body.session_id
}
const held = async (sessionId: string) => (await api.call<{ reservedMicros: number; spentMicros: number }>('GET', `/native/v1/sessions/${sessionId}/spend`)).body

describe('approvals over the Haldir API (HALDIR-API.md §13), per tenant', () => {
  it('adds, lists and removes rules; refuses a type that would never ask, and a key that may not', async () => {
    expect(await api.call('POST', '/v1/approvals/rules', { body: {} })).toMatchObject({ status: 400, body: { error: 'type is required (spend_over, tool_blocked, destructive, all)' } })
    expect(await api.call('POST', '/v1/approvals/rules', { body: { type: 'spend_ovr' } })).toMatchObject({ status: 400 })
    expect(await api.call('POST', '/v1/approvals/rules', { body: { type: 'tool_blocked' } })).toMatchObject({ status: 400 })
    expect((await api.call('POST', '/v1/approvals/rules', { key: api.keys.agent, body: { type: 'all' } })).status).toBe(403)
    const added = await api.call<{ added: boolean; type: string; rule_id: string }>('POST', '/v1/approvals/rules', { body: { type: 'tool_blocked', tools: ['wire_money'] } })
    expect(added).toMatchObject({ status: 201, body: { added: true, type: 'tool_blocked', rule_id: expect.stringMatching(/^rul_/) } })
    expect((await api.call('GET', '/v1/approvals/rules', { key: api.keys.auditor })).body).toEqual({ rules: [{ rule_id: added.body.rule_id, type: 'tool_blocked', tools: ['wire_money'] }], count: 1 })
    // Rules are the tenant's: another tenant neither sees nor is governed by them.
    expect((await api.call('GET', '/v1/approvals/rules', { key: api.globex })).body).toEqual({ rules: [], count: 0 })
    expect((await api.call('DELETE', `/v1/approvals/rules/${added.body.rule_id}`)).body).toEqual({ removed: true, rule_id: added.body.rule_id })
    expect((await api.call('DELETE', `/v1/approvals/rules/${added.body.rule_id}`)).status).toBe(404)
  })

  it('a request holds its amount while it waits; an approver decides (once); the agent may only wait', async () => {
    const sessionId = await session(5)
    const requested = await api.call<{ request_id: string; status: string; expires_at: number }>('POST', '/v1/approvals/request', {
      key: api.keys.agent,
      body: { session_id: sessionId, tool: 'purchase', action: 'buy', amount: 4, reason: 'a $4 license', ttl: 600 },
    })
    expect(requested).toMatchObject({ status: 201, body: { request_id: expect.stringMatching(/^apr_/), status: 'pending', expires_at: expect.any(Number) } })
    const id = requested.body.request_id
    expect(requested.body.expires_at * 1000 - Date.now()).toBeGreaterThan(590_000)
    expect(await held(sessionId)).toMatchObject({ reservedMicros: 4_000_000 })
    // Only $1 is left for anything else while it waits.
    expect((await api.call('POST', '/v1/payments/authorize', { key: api.keys.agent, body: { session_id: sessionId, amount: 2 } })).status).toBe(403)

    expect((await api.call('GET', `/v1/approvals/${id}`, { key: api.keys.agent })).body).toMatchObject({
      request_id: id,
      status: 'pending',
      agent_id: expect.stringMatching(/^buyer-/),
      tool: 'purchase',
      action: 'buy',
      amount: 4,
      reason: 'a $4 license',
      decided_by: '',
      decision_note: '',
    })
    const pending = await api.call<{ count: number; requests: Record<string, unknown>[] }>('GET', '/v1/approvals/pending', { key: api.keys.approver })
    expect(pending.body.requests).toContainEqual({ request_id: id, agent_id: expect.any(String), tool: 'purchase', action: 'buy', amount: 4, reason: 'a $4 license', created_at: expect.any(Number) })

    expect((await api.call('POST', `/v1/approvals/${id}/approve`, { key: api.keys.agent, body: {} })).status).toBe(403)
    expect(await api.call('POST', `/v1/approvals/${id}/approve`, { key: api.keys.approver, body: { decided_by: 'alice', note: 'fine' } })).toMatchObject({ status: 200, body: { approved: true, request_id: id } })
    expect(await api.call('POST', `/v1/approvals/${id}/deny`, { key: api.keys.approver, body: { decided_by: 'bob' } })).toMatchObject({ status: 400, body: { error: 'Cannot deny — not found, already decided, or expired' } })
    expect((await api.call('GET', `/v1/approvals/${id}`)).body).toMatchObject({ status: 'approved', decided_by: 'alice', decision_note: 'fine' })
    // Approved, the hold is the call's until it settles or its lease ends: still held.
    expect(await held(sessionId)).toMatchObject({ reservedMicros: 4_000_000 })
  })

  it('a denial releases the money; another tenant can neither read nor decide', async () => {
    const sessionId = await session(5)
    const id = (await api.call<{ request_id: string }>('POST', '/v1/approvals/request', { key: api.keys.agent, body: { session_id: sessionId, amount: 3 } })).body.request_id
    expect((await api.call('GET', `/v1/approvals/${id}`, { key: api.globex })).status).toBe(404)
    expect((await api.call('POST', `/v1/approvals/${id}/approve`, { key: api.globex, body: {} })).status).toBe(400)
    expect((await api.call('GET', '/v1/approvals/pending', { key: api.globex })).body).toMatchObject({ count: 0 })
    // Without a name, the decision names the key that made it.
    expect((await api.call('POST', `/v1/approvals/${id}/deny`, { key: api.keys.approver })).body).toEqual({ denied: true, request_id: id })
    expect((await api.call('GET', `/v1/approvals/${id}`)).body).toMatchObject({ status: 'denied', decided_by: expect.stringMatching(/^key:[0-9a-f]{12}$/) })
    expect(await held(sessionId)).toMatchObject({ reservedMicros: 0, spentMicros: 0 })
    expect(await api.call('POST', '/v1/approvals/request', { key: api.keys.agent, body: {} })).toMatchObject({ status: 400, body: { error: 'session_id is required' } })
    expect((await api.call('POST', '/v1/approvals/request', { key: api.keys.agent, body: { session_id: 'ses_nope' } })).status).toBe(401)
  })

  it("a tenant rule sends a payment to a person (money held, authorized false) and a proxy call answers approval_required; with approval_id it goes on", async () => {
    const rule = (await api.call<{ rule_id: string }>('POST', '/v1/approvals/rules', { body: { type: 'all' } })).body.rule_id
    try {
      const sessionId = await session(10)
      const payment = await api.call<Record<string, unknown>>('POST', '/v1/payments/authorize', { key: api.keys.agent, body: { session_id: sessionId, amount: 2 } })
      expect(payment).toMatchObject({ status: 403, body: { authorized: false, status: 'approval_required', approval_id: expect.stringMatching(/^apr_/) } })
      expect(await held(sessionId)).toMatchObject({ reservedMicros: 2_000_000 })

      await api.call('POST', '/v1/proxy/upstreams', { body: { name: 'pay', url: upstream.url } })
      const first = await api.call<{ content: { text: string }[] }>('POST', '/v1/proxy/call', { key: api.keys.agent, body: { tool: 'echo', session_id: sessionId, arguments: { message: 'hi' } } })
      expect(first.status).toBe(200)
      const asked = JSON.parse(first.body.content[0]?.text as string) as { status: string; request_id: string }
      expect(asked).toMatchObject({ status: 'approval_required', request_id: expect.stringMatching(/^apr_/) })
      expect((await api.call('POST', '/v1/proxy/call', { key: api.keys.agent, body: { tool: 'echo', session_id: sessionId, arguments: { message: 'hi' }, approval_id: asked.request_id } })).body).toMatchObject({
        content: [{ text: expect.stringContaining('approval_required') }],
      })
      await api.call('POST', `/v1/approvals/${asked.request_id}/approve`, { key: api.keys.approver, body: { decided_by: 'ops' } })
      const goOn = await api.call('POST', '/v1/proxy/call', { key: api.keys.agent, body: { tool: 'echo', session_id: sessionId, arguments: { message: 'hi' }, approval_id: asked.request_id } })
      expect(goOn).toMatchObject({ status: 200, body: { content: [{ type: 'text', text: 'echo: hi' }] } })
    } finally {
      await api.call('DELETE', `/v1/approvals/rules/${rule}`)
    }
  })
})
