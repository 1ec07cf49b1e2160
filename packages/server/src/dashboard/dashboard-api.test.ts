import { createHaldir, MODEL_CALL_ACTION, memoryBackend } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from '../api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from '../serve-haldir.ts'

const keys = { admin: createApiKey(), auditor: createApiKey(), approver: createApiKey(), agent: createApiKey(), other: createApiKey() }
let running: RunningHaldirServer
let crewId = ''
let modelUserId = ''

beforeAll(async () => {
  const backend = memoryBackend()
  running = await serveHaldir({
    backend,
    apiKeys: apiKeyStore([
      ...(['admin', 'auditor', 'approver', 'agent'] as const).map((role) => ({ tenant: 'acme', role, key: keys[role] })),
      { tenant: 'globex', role: 'admin' as const, key: keys.other },
    ]),
    port: 0,
    rateLimits: { perKey: false },
  })
  const haldir = createHaldir({ backend, tenant: 'acme' })
  // Past 200 sessions: the old page showed 200 and lost the rest.
  for (let index = 0; index < 250; index++) await haldir.createSession({ agentId: `worker-${index}`, scopes: ['browse'], spendLimit: 1 })
  const hot = await haldir.createSession({ agentId: 'hot', scopes: ['browse'], spendLimit: 1, windows: [{ period: 'day', limit: 2 }] })
  await haldir.authorizePayment(hot.id, 0.85, { tool: 'search' })
  const crew = await haldir.createSession({ agentId: 'crew', scopes: ['browse'], spendLimit: 5 })
  await haldir.createSession({ agentId: 'crew-a', scopes: ['browse'], parentId: crew.id })
  const denied = await haldir.createSession({ agentId: 'crew-b', scopes: ['browse'], parentId: crew.id })
  await haldir.checkPermission(denied.id, 'send_email')
  await haldir.revokeSession((await haldir.createSession({ agentId: 'gone', scopes: ['browse'] })).id)
  crewId = crew.id
  // Two metered model calls and a tool call: spend by model counts only the model calls.
  const modelUser = await haldir.createSession({ agentId: 'model-user', scopes: ['browse'], spendLimit: 1 })
  for (const [model, usd] of [['gpt-4o', 0.02], ['gpt-4o', 0.01], ['claude-sonnet', 0.05]] as const) {
    const decision = await haldir.gate({ sessionId: modelUser.id, tool: model, action: MODEL_CALL_ACTION, maxCostUsd: 0.1 })
    if (!decision.allowed) throw decision.error
    await decision.hold.settle(usd, { action: MODEL_CALL_ACTION })
  }
  await haldir.authorizePayment(modelUser.id, 0.2, { tool: 'search' })
  modelUserId = modelUser.id
})
afterAll(() => running.close())

/** Signs in with `apiKey`; returns the cookie header and the CSRF token. */
async function signIn(apiKey: string) {
  const response = await fetch(`${running.url}/dashboard/api/sign-in`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` } })
  const body = (await response.json()) as { csrfToken: string; role: string; can: { revoke: boolean; approve: boolean } }
  return { response, body, cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] as string }
}

const get = (cookie: string, path: string) => fetch(`${running.url}/dashboard/api${path}`, { headers: { cookie } })

describe('the dashboard API', () => {
  it('serves the page under a strict CSP without unsafe-inline', async () => {
    const response = await fetch(`${running.url}/`)
    const csp = response.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(await response.text()).not.toMatch(/<script>|style=/)
  })

  it('signs in into an HTTP-only SameSite=Strict cookie that holds no key', async () => {
    const { response, body, cookie } = await signIn(keys.auditor)
    expect(response.status).toBe(200)
    const header = response.headers.get('set-cookie') ?? ''
    expect(header).toMatch(/HttpOnly/)
    expect(header).toMatch(/SameSite=Strict/)
    expect(header).not.toContain(keys.auditor)
    expect(body).toMatchObject({ role: 'auditor', can: { revoke: false, approve: false } })
    expect((await get(cookie, '/me')).status).toBe(200)
    expect((await get('haldir_dashboard=forged', '/me')).status).toBe(401)
  })

  it('refuses an agent key at sign-in, and an unknown key', async () => {
    expect((await signIn(keys.agent)).response.status).toBe(403)
    expect((await signIn('hk_nope')).response.status).toBe(401)
  })

  it('refuses a change without the CSRF token, and a role that may not make it', async () => {
    const admin = await signIn(keys.admin)
    const target = (await (await get(admin.cookie, '/sessions?q=worker-7&pageSize=1')).json()) as { rows: { id: string }[] }
    const sessionId = target.rows[0]?.id as string
    const revoke = (cookie: string, csrf?: string) =>
      fetch(`${running.url}/dashboard/api/sessions/${sessionId}/revoke`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...(csrf ? { 'x-haldir-csrf': csrf } : {}) }, body: '{}' })
    expect((await revoke(admin.cookie)).status).toBe(403)
    expect((await revoke(admin.cookie, 'wrong')).status).toBe(403)
    const auditor = await signIn(keys.auditor)
    expect((await revoke(auditor.cookie, auditor.body.csrfToken)).status).toBe(403)
    const approver = await signIn(keys.approver)
    expect((await revoke(approver.cookie, approver.body.csrfToken)).status).toBe(403)
    expect((await revoke(admin.cookie, admin.body.csrfToken)).status).toBe(200)
  })

  it('pages every session on the server and filters by text, state, spend and flags', async () => {
    const { cookie } = await signIn(keys.auditor)
    const page = async (query: string) => (await (await get(cookie, `/sessions?${query}`)).json()) as { total: number; mode: string; rows: { agentId: string; childCount: number; windows: unknown[] }[] }
    const tree = await page('pageSize=25&page=11')
    expect(tree).toMatchObject({ total: 254, mode: 'tree' })
    expect(tree.rows).toHaveLength(4)
    expect((await page('q=worker-249')).rows.map((row) => row.agentId)).toEqual(['worker-249'])
    expect((await page('over80=1')).rows.map((row) => row.agentId)).toEqual(['hot'])
    // Its daily window: $0.85 of $2.
    expect((await page('q=hot')).rows[0]).toMatchObject({ windows: [{ label: 'day', percent: 42.5 }] })
    expect((await page('flagged=1')).rows.map((row) => row.agentId)).toEqual(['crew-b'])
    expect((await page('state=revoked')).rows.map((row) => row.agentId)).toContain('gone')
    expect((await page(`parentId=${crewId}`)).rows.map((row) => row.agentId).sort()).toEqual(['crew-a', 'crew-b'])
    expect((await page('q=crew&pageSize=200')).rows.find((row) => row.agentId === 'crew')?.childCount).toBe(2)
  })

  it('reports spend by tool and, for metered model calls, by model', async () => {
    const { cookie } = await signIn(keys.auditor)
    const detail = (await (await get(cookie, `/sessions/${modelUserId}`)).json()) as { spend: { byTool: Record<string, number> }; spendByModel: Record<string, number> }
    expect(detail.spendByModel).toEqual({ 'gpt-4o': 0.03, 'claude-sonnet': 0.05 })
    expect(detail.spend.byTool).toMatchObject({ search: 0.2, 'gpt-4o': 0.03, 'claude-sonnet': 0.05 })
  })

  it("shows one tenant nothing of another's", async () => {
    const { cookie } = await signIn(keys.other)
    expect(((await (await get(cookie, '/sessions')).json()) as { total: number }).total).toBe(0)
    expect((await get(cookie, `/sessions/${crewId}`)).status).toBe(404)
  })

  it('streams events and exports a bundle behind the same cookie', async () => {
    const { cookie } = await signIn(keys.auditor)
    const events = await fetch(`${running.url}/dashboard/api/events`, { headers: { cookie } })
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = (events.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    while (!text.includes('event: ready')) text += (await reader.read()).value ?? ''
    await reader.cancel()
    expect((await fetch(`${running.url}/dashboard/api/events`)).status).toBe(401)
    const bundle = await get(cookie, `/export?format=jsonl&sessionId=${crewId}`)
    expect(bundle.status).toBe(200)
    expect(bundle.headers.get('content-disposition')).toMatch(/^attachment; filename="haldir-ledger-acme-/)
    expect((await bundle.text()).trim().split('\n').length).toBeGreaterThan(1)
  })

  it('lists the keys and revokes a minted one for an admin only', async () => {
    const minted = await fetch(`${running.url}/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ci-bot', role: 'agent' }) })
    expect(minted.status).toBe(201)
    const { prefix } = (await minted.json()) as { prefix: string }
    const auditor = await signIn(keys.auditor)
    expect((await get(auditor.cookie, '/keys')).status).toBe(403)
    const admin = await signIn(keys.admin)
    const listed = (await (await get(admin.cookie, '/keys')).json()) as { configured: { role: string }[]; minted: { prefix: string; revoked: boolean }[] }
    expect(listed.configured.map((key) => key.role).sort()).toEqual(['admin', 'agent', 'approver', 'auditor'])
    expect(listed.minted).toEqual([expect.objectContaining({ prefix, revoked: false })])
    expect(JSON.stringify(listed)).not.toContain(keys.admin)
    const revoke = (cookie: string, csrf: string) => fetch(`${running.url}/dashboard/api/keys/${prefix}/revoke`, { method: 'POST', headers: { cookie, 'x-haldir-csrf': csrf } })
    expect((await revoke(auditor.cookie, auditor.body.csrfToken)).status).toBe(403)
    expect((await revoke(admin.cookie, admin.body.csrfToken)).status).toBe(200)
    expect(((await (await get(admin.cookie, '/keys')).json()) as { minted: { revoked: boolean }[] }).minted[0]?.revoked).toBe(true)
  })

  it('signs out: the cookie stops working', async () => {
    const { cookie, body } = await signIn(keys.auditor)
    expect((await fetch(`${running.url}/dashboard/api/sign-out`, { method: 'POST', headers: { cookie, 'x-haldir-csrf': body.csrfToken } })).status).toBe(200)
    expect((await get(cookie, '/me')).status).toBe(401)
  })
})
