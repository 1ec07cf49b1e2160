import { memoryBackend } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

// Inputs that once escaped the typed errors on the wire: each is a 400 with a code, and nothing is written.
describe('bounds on the wire', () => {
  const key = createApiKey()
  const backend = memoryBackend()
  let running: RunningHaldirServer
  const post = (path: string, body: unknown) =>
    fetch(`${running.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  beforeAll(async () => {
    running = await serveHaldir({ backend, apiKeys: apiKeyStore([{ tenant: 'wire', role: 'admin', key }]), port: 0 })
  })
  afterAll(() => running.close())

  it('refuses a ttlMs of 2^53 with a 400, and creates no half session', async () => {
    const response = await post('/native/v1/sessions', { agentId: 'huge-ttl', scopes: [], limitMicros: null, ttlMs: 2 ** 53, parentId: null, metadata: {} })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: { code: 'validation_error' } })
    expect(await backend.listSessions?.({ tenant: 'wire', limit: 10 })).toEqual([])
  })

  it('refuses details 20,000 levels deep with a 400, not a 500', async () => {
    const created = (await (await post("/native/v1/sessions", { agentId: "deep", scopes: [], limitMicros: null, ttlMs: 60_000, parentId: null, metadata: {} })).json()) as { id: string }
    const deep = `${'{"d":'.repeat(20_000)}1${'}'.repeat(20_000)}`
    const response = await post(`/native/v1/sessions/${created.id}/audit`, `{"tool":"t","action":"a","scope":null,"outcome":"ok","flagged":false,"reason":null,"costMicros":0,"details":${deep}}`)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: { code: 'validation_error' } })
  })

  it('refuses a body member the API does not take, naming it', async () => {
    const response = await post('/native/v1/sessions', { agentId: 'typo', scopes: [], limitMicros: null, ttlMs: 60_000, parentId: null, metadata: {}, limitmicros: 5 })
    expect(response.status).toBe(400)
    expect(JSON.stringify(await response.json())).toMatch(/unknown option 'limitmicros' \(did you mean 'limitMicros'\?\)/)
  })
})
