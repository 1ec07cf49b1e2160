import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHaldir, ForbiddenError, httpBackend, memoryBackend } from '@haldir/core'
import { describe, expect, it } from 'vitest'
import { keyRegistry } from '../../key-registry.ts'
import { haldirApiServer, ids } from '../haldir-api.test-helper.ts'

const BOOTSTRAP = 'operator-bootstrap-token-0123456789'

describe('authentication on the Haldir API (HALDIR-API.md §2)', () => {
  it('takes the key as Authorization: Bearer or X-API-Key, and refuses a missing or unknown one in upstream words', async () => {
    const api = await haldirApiServer()
    try {
      const bearer = await api.call('GET', '/v1/usage')
      expect(bearer.status).toBe(200)
      expect((await fetch(`${api.url}/v1/usage`, { headers: { 'x-api-key': api.keys.admin } })).status).toBe(200)
      expect(await api.call('GET', '/v1/usage', { key: null })).toMatchObject({ status: 401, body: { error: 'Missing API key. Pass via Authorization: Bearer <key> or X-API-Key header.' } })
      expect(await api.call('GET', '/v1/usage', { key: 'hld_wrong' })).toMatchObject({ status: 401, body: { error: 'Invalid or revoked API key.' } })
      const basic = await fetch(`${api.url}/v1/usage`, { headers: { authorization: 'Basic abc', 'x-api-key': api.keys.admin } })
      expect(basic.status).toBe(401)
      // Rate-limit headers in upstream's names on an authenticated answer; CORS open to any origin on /v1.
      expect(bearer.headers.get('x-ratelimit-limit')).toBe('6000')
      expect(bearer.headers.get('access-control-allow-origin')).toBe('*')
      expect(bearer.headers.get('x-request-id')).toMatch(/\S/)
      // A browser's preflight is answered without a key.
      const preflight = await fetch(`${api.url}/v1/sessions`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } })
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')
    } finally {
      await api.close()
    }
  })
})

describe('POST, GET, DELETE /v1/keys (HALDIR-API.md §4)', () => {
  it('lets an admin mint a key of its tenant with narrowed key scopes (in any of upstream\'s forms), list and revoke it', async () => {
    const api = await haldirApiServer()
    try {
      const minted = await api.call('POST', '/v1/keys', { body: { name: 'ci', scopes: 'sessions:read, audit:*' } })
      expect(minted).toMatchObject({ status: 201 })
      expect(minted.body).toEqual({ key: expect.stringMatching(ids.key), prefix: (minted.body.key as string).slice(0, 12), name: 'ci', tier: 'free', scopes: ['sessions:read', 'audit:*'], role: 'admin', message: "Save this key — it won't be shown again." })
      const key = minted.body.key as string
      // Its scopes hold: it reads the trail, it may not mint sessions (shape D).
      expect((await api.call('GET', '/v1/audit', { key })).status).toBe(200)
      expect(await api.call('POST', '/v1/sessions', { key, body: { agent_id: 'x' } })).toMatchObject({
        status: 403,
        body: { error: "key lacks required scope 'sessions:write'", code: 'insufficient_scope', required: 'sessions:write', granted: ['audit:*', 'sessions:read'], request_id: expect.any(String) },
      })
      // A narrowed key is for the Haldir API: the native API refuses it (its routes have no key scopes).
      const native = createHaldir({ backend: httpBackend({ url: api.url, apiKey: key }) })
      await expect(native.getAuditTrail({ agentId: 'x' })).rejects.toBeInstanceOf(ForbiddenError)
      // A narrowed key cannot mint wider (upstream: any key mints a wildcard key).
      expect(await api.call('POST', '/v1/keys', { key, body: { name: 'escalate' } })).toMatchObject({ status: 403, body: { code: 'insufficient_scope', required: 'admin:write' } })
      const keyAdmin = (await api.call('POST', '/v1/keys', { body: { name: 'key-admin', scopes: ['admin:*', 'audit:read'] } })).body.key as string
      expect(await api.call('POST', '/v1/keys', { key: keyAdmin, body: { scopes: ['vault:read'] } })).toMatchObject({ status: 403, body: { code: 'insufficient_scope', required: 'vault:read' } })
      expect(await api.call('POST', '/v1/keys', { key: keyAdmin, body: {} })).toMatchObject({ status: 403, body: { code: 'insufficient_scope', required: '*' } })
      expect(await api.call('POST', '/v1/keys', { key: keyAdmin, body: { scopes: ['audit:read', 'admin:read'] } })).toMatchObject({ status: 201, body: { scopes: ['audit:read', 'admin:read'] } })

      const listed = await api.call('GET', '/v1/keys')
      expect(listed.body).toMatchObject({ count: 7 })
      expect((listed.body.keys as Record<string, unknown>[]).find((entry) => entry.name === 'ci')).toEqual({ prefix: minted.body.prefix, name: 'ci', tier: 'free', scopes: ['audit:*', 'sessions:read'], created_at: expect.any(Number), last_used: expect.any(Number), revoked: false, role: 'admin' })
      expect((listed.body.keys as Record<string, unknown>[]).filter((entry) => entry.configured === true).map((entry) => entry.role).sort()).toEqual(['admin', 'agent', 'approver', 'auditor'])
      expect(JSON.stringify(listed.body)).not.toContain(key)
      expect(await api.call('DELETE', `/v1/keys/${minted.body.prefix}`)).toMatchObject({ status: 200, body: { revoked: true, prefix: minted.body.prefix } })
      expect(await api.call('GET', '/v1/audit', { key })).toMatchObject({ status: 401, body: { error: 'Invalid or revoked API key.' } })
      expect(((await api.call('GET', '/v1/keys')).body.keys as Record<string, unknown>[]).find((entry) => entry.name === 'ci')).toMatchObject({ revoked: true })
      expect(await api.call('DELETE', `/v1/keys/${minted.body.prefix}`)).toMatchObject({ status: 404, body: { code: 'not_found', error: 'no active key with that prefix in this tenant' } })
      expect(await api.call('DELETE', `/v1/keys/${'x'.repeat(65)}`)).toMatchObject({ status: 400, body: { code: 'invalid_prefix' } })
    } finally {
      await api.close()
    }
  })

  it('mints a key with a role (an agent key), refuses scopes upstream refuses, and keeps minting to admins', async () => {
    const api = await haldirApiServer()
    try {
      const agent = await api.call('POST', '/v1/keys', { body: { name: 'worker', role: 'agent', scopes: '["sessions:*","payments:write","audit:write"]' } })
      expect(agent.body).toMatchObject({ role: 'agent', scopes: ['sessions:*', 'payments:write', 'audit:write'] })
      expect((await api.call('POST', '/v1/sessions', { key: agent.body.key as string, body: { agent_id: 'w' } })).status).toBe(201)
      expect((await api.call('GET', '/v1/keys', { key: agent.body.key as string })).status).toBe(403)
      for (const [scopes, error] of [
        [[], 'scope list is empty; pass ["*"] for wildcard'],
        [['nothing:read'], "unknown resource 'nothing' (resources: sessions, vault, audit, payments, webhooks, proxy, approvals, admin)"],
        [['audit:delete'], "unknown action 'delete' (actions: read, write, *)"],
        [['audit'], "scope 'audit' must be '*' or '<resource>:<action>'"],
      ] as const) {
        expect(await api.call('POST', '/v1/keys', { body: { scopes } }), JSON.stringify(scopes)).toMatchObject({ status: 400, body: { code: 'invalid_scope', error } })
      }
      expect(await api.call('POST', '/v1/keys', { body: { role: 'root' } })).toMatchObject({ status: 400, body: { code: 'invalid_role' } })
      for (const role of ['agent', 'auditor', 'approver'] as const) expect((await api.call('POST', '/v1/keys', { key: api.keys[role], body: {} })).status).toBe(403)
      expect(await api.call('POST', '/v1/keys', { key: 'hld_unknown', body: {} })).toMatchObject({ status: 401, body: { error: 'Invalid API key' } })
    } finally {
      await api.close()
    }
  })

  it('creates a tenant without a key only with the operator\'s bootstrap token (never because no key exists)', async () => {
    const closed = await haldirApiServer()
    try {
      expect(await closed.call('POST', '/v1/keys', { key: null, body: { bootstrap_token: BOOTSTRAP } })).toMatchObject({ status: 401, body: { error: 'Authentication required to create additional keys' } })
    } finally {
      await closed.close()
    }
    const api = await haldirApiServer({ bootstrapToken: BOOTSTRAP })
    try {
      expect((await api.call('POST', '/v1/keys', { key: null, body: { bootstrap_token: 'wrong' } })).status).toBe(401)
      const first = await api.call('POST', '/v1/keys', { key: null, body: { bootstrap_token: BOOTSTRAP, name: 'founder' } })
      expect(first).toMatchObject({ status: 201, body: { name: 'founder', role: 'admin', scopes: ['*'], tenant_id: expect.stringMatching(/^[0-9a-f]{16}$/) } })
      const { createHash } = await import('node:crypto')
      expect(first.body.tenant_id).toBe(createHash('sha256').update(first.body.key as string).digest('hex').slice(0, 16))
      // A tenant of its own: it sees none of acme's sessions.
      const founder = first.body.key as string
      const session = ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'acme-thing' } })).body as { session_id: string }).session_id
      expect((await api.call('GET', `/v1/sessions/${session}`, { key: founder })).status).toBe(404)
      expect((await api.call('GET', '/v1/usage', { key: founder })).body).toMatchObject({ tenant_id: first.body.tenant_id })
    } finally {
      await api.close()
    }
    await expect(haldirApiServer({ bootstrapToken: 'short' })).rejects.toThrow(/bootstrapToken: must be a string of at least 16 characters/)
  })

  it('keeps minted keys across a restart in a key registry file (hashes only)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'haldir-minted-')), 'keys.json')
    const backend = memoryBackend()
    const first = await haldirApiServer({ backend, keyRegistry: keyRegistry({ file }) })
    const minted = await first.call('POST', '/v1/keys', { body: { name: 'durable', scopes: ['audit:read'] } })
    await first.close()
    expect(readFileSync(file, 'utf8')).not.toContain(minted.body.key as string)
    const second = await haldirApiServer({ backend, keyRegistry: keyRegistry({ file }) })
    try {
      expect((await second.call('GET', '/v1/audit', { key: minted.body.key as string })).status).toBe(200)
    } finally {
      await second.close()
    }
  })
})

describe('POST /v1/demo/key and GET /v1/usage', () => {
  it('mints demo keys only when the operator turns them on, each a fresh tenant', async () => {
    const off = await haldirApiServer()
    try {
      expect(await off.call('POST', '/v1/demo/key', { key: null })).toMatchObject({ status: 403, body: { code: 'demo_disabled' } })
    } finally {
      await off.close()
    }
    const on = await haldirApiServer({ demoKeys: true })
    try {
      const demo = await on.call('POST', '/v1/demo/key', { key: null })
      expect(demo).toMatchObject({ status: 201, body: { key: expect.stringMatching(ids.key), prefix: expect.any(String), name: 'landing-demo', tier: 'free' } })
      expect((await on.call('GET', '/v1/usage', { key: demo.body.key as string })).body).toMatchObject({ tenant_id: expect.stringMatching(/^demo_[0-9a-f]{12}$/) })
    } finally {
      await on.close()
    }
  })

  it('counts the tenant\'s authenticated requests per month; a month without any has no tier', async () => {
    const api = await haldirApiServer()
    try {
      await api.call('GET', '/v1/secrets')
      await api.call('GET', '/native/v1/sessions?limit=1')
      const month = new Date().toISOString().slice(0, 7)
      expect((await api.call('GET', '/v1/usage')).body).toEqual({ tenant_id: 'acme', month, action_count: 3, tier: 'free' })
      expect((await api.call('GET', '/v1/usage?month=2001-01')).body).toEqual({ tenant_id: 'acme', month: '2001-01', action_count: 0 })
      expect((await api.call('GET', '/v1/usage?month=soon')).body).toMatchObject({ code: 'invalid_argument' })
      expect((await api.call('GET', '/v1/usage', { key: api.keys.agent })).status).toBe(403)
    } finally {
      await api.close()
    }
  })
})

describe('health and the index', () => {
  it('answers /healthz, /livez and /v1 without a key; an unknown /v1 route is upstream\'s coded 404', async () => {
    const api = await haldirApiServer()
    try {
      for (const path of ['/healthz', '/livez']) {
        expect(await api.call('GET', path, { key: null })).toMatchObject({ status: 200, body: { alive: true, service: 'haldir', status: 'ok', checked_at: expect.any(Number), version: expect.any(String) } })
      }
      expect(await api.call('GET', '/v1', { key: null })).toMatchObject({ status: 200, body: { service: 'haldir', endpoints: { sessions: '/v1/sessions', payments: '/v1/payments/authorize' } } })
      expect(await api.call('GET', '/v1/nowhere')).toMatchObject({ status: 404, body: { error: 'not found', code: 'not_found', request_id: expect.any(String) } })
      const huge = await api.call('POST', '/v1/sessions', { raw: JSON.stringify({ agent_id: 'x', blob: 'x'.repeat(1_100_000) }) })
      expect(huge).toMatchObject({ status: 413, body: { code: 'payload_too_large', max_bytes: 1_048_576, request_id: expect.any(String) } })
    } finally {
      await api.close()
    }
  })
})
