import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HaldirApiServer, haldirApiServer } from '../haldir-api.test-helper.ts'

let api: HaldirApiServer
let writer: string
let reader: string
beforeAll(async () => {
  api = await haldirApiServer()
  const session = async (scopes: string[]) => ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'vault-user', scopes } })).body as { session_id: string }).session_id
  writer = await session(['read', 'db_write'])
  reader = await session(['read'])
})
afterAll(() => api.close())

describe('the vault over the Haldir API (HALDIR-API.md §6)', () => {
  it('stores (201, an upsert), lists names sorted, reads as a session (header wins over the query), and deletes', async () => {
    expect(await api.call('POST', '/v1/secrets', { body: { name: 'db_password', value: 'pg-first-value', scope_required: 'db_write' } })).toMatchObject({ status: 201, body: { stored: true, name: 'db_password' } })
    expect((await api.call('POST', '/v1/secrets', { body: { name: 'db_password', value: 'pg-second-value', scope_required: 'db_write' } })).status).toBe(201)
    expect((await api.call('POST', '/v1/secrets', { body: { name: 'api_token', value: 'tok-plain-read' } })).status).toBe(201)
    expect(await api.call('GET', '/v1/secrets')).toMatchObject({ status: 200, body: { secrets: ['api_token', 'db_password'], count: 2 } })
    expect(await api.call('GET', '/v1/secrets/db_password', { headers: { 'x-session-id': writer } })).toEqual({ status: 200, body: { name: 'db_password', value: 'pg-second-value' }, headers: expect.anything() })
    expect((await api.call('GET', `/v1/secrets/db_password?session_id=${reader}`, { headers: { 'x-session-id': writer } })).status).toBe(200)
    expect((await api.call('GET', `/v1/secrets/api_token?session_id=${reader}`)).body).toEqual({ name: 'api_token', value: 'tok-plain-read' })
    expect(await api.call('DELETE', '/v1/secrets/api_token')).toMatchObject({ status: 200, body: { deleted: true, name: 'api_token' } })
    expect(await api.call('GET', `/v1/secrets/api_token?session_id=${reader}`)).toMatchObject({ status: 404, body: { error: "Secret 'api_token' not found" } })
    expect(await api.call('DELETE', '/v1/secrets/api_token')).toMatchObject({ status: 404, body: { error: "Secret 'api_token' not found" } })
    expect((await api.call('GET', '/v1/secrets')).body).toMatchObject({ secrets: ['db_password'], count: 1 })
  })

  it('decides a read in upstream order: no session 400, an invalid one 401, a missing secret 404, a missing scope 403; every read audited, never the value', async () => {
    await api.call('POST', '/v1/secrets', { body: { name: 'warehouse', value: 'wh-secret-7731', scope_required: 'db_write' } })
    expect(await api.call('GET', '/v1/secrets/warehouse')).toMatchObject({ status: 400, body: { error: 'X-Session-ID header or session_id param required to access secrets' } })
    expect(await api.call('GET', '/v1/secrets/warehouse', { headers: { 'x-session-id': 'ses_nobody' } })).toMatchObject({ status: 401, body: { error: 'Invalid or expired session' } })
    expect(await api.call('GET', '/v1/secrets/nothing_here', { headers: { 'x-session-id': writer } })).toMatchObject({ status: 404, body: { error: "Secret 'nothing_here' not found" } })
    expect(await api.call('GET', '/v1/secrets/warehouse', { headers: { 'x-session-id': reader } })).toMatchObject({ status: 403, body: { error: "Session lacks 'db_write' scope for secret 'warehouse'" } })
    const trail = await api.call('GET', `/v1/audit?session_id=${reader}`)
    expect(JSON.stringify(trail.body)).toContain('secret.read')
    expect(JSON.stringify(trail.body)).not.toContain('wh-secret-7731')
    const revoked = ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'gone', scopes: ['db_write'] } })).body as { session_id: string }).session_id
    await api.call('DELETE', `/v1/sessions/${revoked}`)
    expect(await api.call('GET', '/v1/secrets/warehouse', { headers: { 'x-session-id': revoked } })).toMatchObject({ status: 401, body: { error: 'Invalid or expired session' } })
  })

  it('refuses what upstream refuses, and what it would store unreadable or break on', async () => {
    for (const body of [{}, { name: 'x' }, { value: 'abcdef' }, { name: '', value: 'abcdef' }, { name: 'x', value: 5 }]) {
      expect(await api.call('POST', '/v1/secrets', { body }), JSON.stringify(body)).toMatchObject({ status: 400, body: { error: 'name and value are required' } })
    }
    expect(await api.call('POST', '/v1/secrets', { body: { name: 'a/b', value: 'abcdef' } })).toMatchObject({ status: 400, body: { error: "name must not contain '/'" } })
    // Shorter values could not be masked out of audit trails without blanking ordinary words.
    expect(await api.call('POST', '/v1/secrets', { body: { name: 'pin', value: '123' } })).toMatchObject({ status: 400, body: { code: 'invalid_request', field: 'value' } })
  })

  it('keeps the vault to admins (store, list, delete) and a session reader (agent); tenants never meet', async () => {
    await api.call('POST', '/v1/secrets', { body: { name: 'shared_name', value: 'acme-value-1' } })
    const agent = api.keys.agent
    expect((await api.call('POST', '/v1/secrets', { key: agent, body: { name: 'x', value: 'abcdef' } })).status).toBe(403)
    expect((await api.call('GET', '/v1/secrets', { key: agent })).status).toBe(403)
    expect((await api.call('GET', '/v1/secrets', { key: api.keys.auditor })).status).toBe(403)
    expect((await api.call('DELETE', '/v1/secrets/shared_name', { key: agent })).status).toBe(403)
    expect((await api.call('GET', `/v1/secrets/shared_name?session_id=${reader}`, { key: agent })).body).toEqual({ name: 'shared_name', value: 'acme-value-1' })
    expect((await api.call('GET', '/v1/secrets', { key: api.globex })).body).toEqual({ secrets: [], count: 0 })
    expect((await api.call('GET', `/v1/secrets/shared_name?session_id=${reader}`, { key: api.globex })).status).toBe(401)
  })
})
