import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HaldirApiServer, haldirApiServer, ids } from '../haldir-api.test-helper.ts'

let api: HaldirApiServer
beforeAll(async () => {
  api = await haldirApiServer()
})
afterAll(() => api.close())

interface Created {
  session_id: string
  agent_id: string
  scopes: string[]
  spend_limit: number
  expires_at: number
  ttl: number
}

const create = (body: unknown, key?: string) => api.call<Created>('POST', '/v1/sessions', { body, ...(key ? { key } : {}) })

describe('POST /v1/sessions', () => {
  it('creates a session with upstream defaults, its fields and types (HALDIR-API.md §5.2)', async () => {
    const before = Date.now() / 1000
    const { status, body } = await create({ agent_id: 'researcher' })
    expect(status).toBe(201)
    expect(body).toEqual({ session_id: expect.stringMatching(ids.session), agent_id: 'researcher', scopes: ['read', 'browse'], spend_limit: 0, expires_at: expect.any(Number), ttl: 3600 })
    expect(body.expires_at).toBeGreaterThanOrEqual(before + 3600 - 1)
    expect(body.expires_at).toBeLessThanOrEqual(Date.now() / 1000 + 3600)
    // [] is also the default.
    expect((await create({ agent_id: 'x', scopes: [] })).body.scopes).toEqual(['read', 'browse'])
  })

  it('reads spend:N as the limit (the last well-formed one), keeps heads only in scopes, and lets spend_limit win', async () => {
    const spend = await create({ agent_id: 'a', scopes: ['spend:10', 'spend:20', 'read:x', 'spend:oops'] })
    expect(spend.body).toMatchObject({ scopes: ['spend', 'spend', 'read', 'spend'], spend_limit: 20 })
    const explicit = await create({ agent_id: 'a', scopes: ['spend:10'], spend_limit: 2.5 })
    expect(explicit.body).toMatchObject({ scopes: ['spend'], spend_limit: 2.5 })
    const never = await create({ agent_id: 'a', ttl: 0 })
    expect(never.body).toMatchObject({ ttl: 0, expires_at: 0 })
  })

  it('refuses, in upstream validation shape C, what upstream refuses and what would widen a budget or a scope', async () => {
    const cases: [unknown, string, string][] = [
      [{}, 'agent_id', 'field is required'],
      [{ agent_id: 5 }, 'agent_id', 'expected str, got int'],
      [{ agent_id: 'x'.repeat(129) }, 'agent_id', 'length exceeds 128'],
      [{ agent_id: 'a', scopes: 'read' }, 'scopes', 'expected list, got str'],
      [{ agent_id: 'a', ttl: 1.5 }, 'ttl', 'expected int, got float'],
      [{ agent_id: 'a', ttl: true }, 'ttl', 'expected int, got bool'],
      [{ agent_id: 'a', ttl: -1 }, 'ttl', 'must be >= 0'],
      [{ agent_id: 'a', ttl: 2_592_001 }, 'ttl', 'must be <= 2592000'],
      [{ agent_id: 'a', spend_limit: null }, 'spend_limit', 'expected float, got NoneType'],
      [{ agent_id: 'a', spend_limit: -1 }, 'spend_limit', 'must be >= 0'],
      // Ours: a negative spend:N (upstream: unlimited), a non-string scope (upstream: 500), '*' (here: everything).
      [{ agent_id: 'a', scopes: ['spend:-5'] }, 'scopes', "spend limit must be >= 0, got 'spend:-5'"],
      [{ agent_id: 'a', scopes: [7] }, 'scopes', 'expected str, got int'],
      [{ agent_id: 'a', scopes: ['*'] }, 'scopes', "'*' is not a session scope here; 'admin' grants every scope"],
      [{ agent_id: 'a', spend_limit: 0.0000001 }, 'spend_limit', 'has more than 6 decimals (1e-7)'],
      [[1, 2], 'body', 'expected dict, got list'],
    ]
    for (const [body, field, reason] of cases) {
      const answer = await api.call('POST', '/v1/sessions', { body })
      expect(answer.status, JSON.stringify(body)).toBe(400)
      expect(answer.body, JSON.stringify(body)).toEqual({ error: `Invalid request body: ${field} — ${reason}`, code: 'invalid_request', field, reason, request_id: expect.any(String) })
    }
    const malformed = await api.call('POST', '/v1/sessions', { raw: '{"agent_id": ' })
    expect(malformed).toMatchObject({ status: 400, body: { code: 'invalid_request', field: 'body', reason: 'malformed JSON' } })
  })

  it('takes a spend_limit of 0 as a budget of nothing (upstream: unlimited), and no limit as unlimited', async () => {
    const zero = await create({ agent_id: 'frugal', scopes: ['spend'], spend_limit: 0 })
    const paid = await api.call('POST', '/v1/payments/authorize', { body: { session_id: zero.body.session_id, amount: 0.01 } })
    expect(paid).toMatchObject({ status: 403, body: { authorized: false, reason: 'Insufficient budget. Remaining: $0.00, requested: $0.01' } })
    const unlimited = await create({ agent_id: 'rich', scopes: ['spend'] })
    expect((await api.call('POST', '/v1/payments/authorize', { body: { session_id: unlimited.body.session_id, amount: 1000 } })).status).toBe(200)
    const read = await api.call('GET', `/v1/sessions/${unlimited.body.session_id}`)
    expect(read.body).toMatchObject({ spend_limit: 0, spent: 1000, remaining_budget: 0, unlimited: true })
  })

  it('replays the same Idempotency-Key with the same body as the same session, and answers 422 to another body', async () => {
    const headers = { 'idempotency-key': `create-${Date.now()}` }
    const first = await api.call<Created>('POST', '/v1/sessions', { body: { agent_id: 'once', ttl: 60 }, headers })
    // Defaults filled and unknown fields dropped count as the same body.
    const again = await api.call<Created>('POST', '/v1/sessions', { body: { agent_id: 'once', ttl: 60, extra: 'ignored' }, headers })
    expect(again).toMatchObject({ status: 201, body: first.body })
    const other = await api.call('POST', '/v1/sessions', { body: { agent_id: 'twice' }, headers })
    expect(other).toMatchObject({
      status: 422,
      body: { error: `Idempotency-Key '${headers['idempotency-key']}' was previously used with a different request body on '/v1/sessions'. Use a fresh key or send the identical body.` },
    })
    // Another route with the same key is another key.
    expect((await api.call('POST', '/v1/audit', { body: { session_id: first.body.session_id, action: 'x' }, headers })).status).toBe(201)
  })
})

describe('GET, DELETE /v1/sessions/{id} and POST /v1/sessions/{id}/check', () => {
  it('reads a session with spent and remaining budget as numbers, revokes it (twice is 200), and then it reads as missing', async () => {
    const { body: session } = await create({ agent_id: 'reader', scopes: ['read', 'spend:1'] })
    await api.call('POST', '/v1/payments/authorize', { body: { session_id: session.session_id, amount: 0.1 } })
    await api.call('POST', '/v1/payments/authorize', { body: { session_id: session.session_id, amount: 0.2 } })
    const read = await api.call('GET', `/v1/sessions/${session.session_id}`)
    expect(read).toMatchObject({ status: 200 })
    expect(read.body).toEqual({
      session_id: session.session_id,
      agent_id: 'reader',
      scopes: ['read', 'spend'],
      spend_limit: 1,
      spent: 0.3,
      remaining_budget: 0.7,
      is_valid: true,
      created_at: expect.any(Number),
      expires_at: session.expires_at,
      reserved: 0,
      unlimited: false,
    })
    expect(await api.call('DELETE', `/v1/sessions/${session.session_id}`)).toMatchObject({ status: 200, body: { revoked: true, session_id: session.session_id } })
    expect(await api.call('DELETE', `/v1/sessions/${session.session_id}`)).toMatchObject({ status: 200, body: { revoked: true } })
    expect(await api.call('GET', `/v1/sessions/${session.session_id}`)).toMatchObject({ status: 404, body: { error: 'Session not found or expired' } })
    expect(await api.call('POST', `/v1/sessions/${session.session_id}/check`, { body: { scope: 'read' } })).toMatchObject({ status: 200, body: { allowed: false } })
    expect(await api.call('DELETE', '/v1/sessions/ses_unknown')).toMatchObject({ status: 404, body: { error: 'Session not found' } })
  })

  it("checks scopes as upstream does: a head grants head:anything, admin grants all, a scope with a colon only itself; unknown is a plain no", async () => {
    const { body: session } = await create({ agent_id: 'checker', scopes: ['read', 'db:write'] })
    const check = async (scope: unknown, id = session.session_id) => (await api.call('POST', `/v1/sessions/${id}/check`, { body: { scope } })).body
    expect(await check('read')).toEqual({ allowed: true, session_id: session.session_id, scope: 'read' })
    expect(await check('read:files')).toMatchObject({ allowed: true })
    expect(await check('db:write')).toMatchObject({ allowed: true })
    expect(await check('db:admin')).toMatchObject({ allowed: false })
    expect(await check('send_email')).toMatchObject({ allowed: false })
    expect(await check('read', 'ses_unknown')).toEqual({ allowed: false, session_id: 'ses_unknown', scope: 'read' })
    const { body: admin } = await create({ agent_id: 'root', scopes: ['admin'] })
    expect(await check('anything:at:all', admin.session_id)).toMatchObject({ allowed: true })
    for (const scope of [undefined, '', 5]) {
      expect(await api.call('POST', `/v1/sessions/${session.session_id}/check`, { body: scope === undefined ? {} : { scope } })).toMatchObject({ status: 400, body: { error: 'scope is required' } })
    }
  })

  it("keeps tenants apart: another tenant's session is missing everywhere", async () => {
    const { body: session } = await create({ agent_id: 'acme-only', scopes: ['read', 'spend:5'] })
    const globex = api.globex
    expect((await api.call('GET', `/v1/sessions/${session.session_id}`, { key: globex })).status).toBe(404)
    expect((await api.call('DELETE', `/v1/sessions/${session.session_id}`, { key: globex })).status).toBe(404)
    expect((await api.call('POST', `/v1/sessions/${session.session_id}/check`, { key: globex, body: { scope: 'read' } })).body).toMatchObject({ allowed: false })
    expect(await api.call('POST', '/v1/payments/authorize', { key: globex, body: { session_id: session.session_id, amount: 1 } })).toMatchObject({ status: 401, body: { error: 'Invalid or expired session' } })
    expect((await api.call('GET', `/v1/sessions/${session.session_id}`)).status).toBe(200)
  })

  it('gives each role what it may do: an auditor reads but cannot mint or revoke sessions (upstream lets any key mint)', async () => {
    const { body: session } = await create({ agent_id: 'roles' })
    const auditor = api.keys.auditor
    expect(await api.call('POST', '/v1/sessions', { key: auditor, body: { agent_id: 'sneaky', scopes: ['admin'] } })).toMatchObject({
      status: 403,
      body: { code: 'forbidden', error: "An API key with role 'auditor' may not createSession (allowed: admin, agent)", role: 'auditor', allowed_roles: ['admin', 'agent'] },
    })
    expect((await api.call('GET', `/v1/sessions/${session.session_id}`, { key: auditor })).status).toBe(200)
    expect((await api.call('DELETE', `/v1/sessions/${session.session_id}`, { key: auditor })).status).toBe(403)
    expect((await api.call('POST', `/v1/sessions/${session.session_id}/check`, { key: auditor, body: { scope: 'read' } })).status).toBe(403)
    expect((await create({ agent_id: 'worker' }, api.keys.agent)).status).toBe(201)
  })
})
