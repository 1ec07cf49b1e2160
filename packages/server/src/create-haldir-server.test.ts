import {
  BackendError,
  BudgetExceededError,
  createHaldir,
  type HaldirBackend,
  httpBackend,
  memoryBackend,
  NotFoundError,
  PermissionDeniedError,
  SessionRevokedError,
  ValidationError,
  withHaldir,
} from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey, hashApiKey } from './api-keys.ts'
import { countingFetch } from './counting-fetch.test-helper.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const keyA = createApiKey()
const keyB = createApiKey()
let running: RunningHaldirServer
let state: HaldirBackend

beforeAll(async () => {
  state = memoryBackend()
  running = await serveHaldir({ backend: state, apiKeys: apiKeyStore([{ tenant: 'a', role: 'admin', key: keyA }, { tenant: 'b', role: 'admin', hash: hashApiKey(keyB) }]), port: 0, maxBodyBytes: 64 * 1024 })
})
afterAll(() => running.close())

const raw = (path: string, init: RequestInit & { key?: string | null } = {}) => {
  const headers = new Headers(init.headers)
  if (init.key !== null) headers.set('authorization', `Bearer ${init.key ?? keyA}`)
  if (init.body !== undefined) headers.set('content-type', 'application/json')
  return fetch(running.url + path, { ...init, headers })
}


describe('Haldir server over HTTP', () => {
  it('keeps one round trip on the caller\'s path per governed call; settles travel after, many per request', async () => {
    const counter = countingFetch()
    const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA, fetch: counter.fetch }) })
    const session = await haldir.createSession({ agentId: 'counted', scopes: ['browse'], spendLimit: 1 })
    const search = withHaldir(async (query: string) => `hits for ${query}`, { haldir, sessionId: session.id, scope: 'browse', tool: 'search', cost: 0.01 })
    counter.calls.length = 0
    expect(await search('x')).toBe('hits for x')
    expect(counter.calls).toEqual([`POST /native/v1/sessions/${session.id}/authorize`])
    await haldir.flush()
    // A lone settle takes its own route.
    expect(counter.calls).toEqual([`POST /native/v1/sessions/${session.id}/authorize`, expect.stringMatching(new RegExp(`^POST /native/v1/sessions/${session.id}/holds/hold_[^/]+/settle$`))])
    // Forty calls at once: the first gate goes alone, the other 39 at the end of the turn together; their
    // settles share a few requests too (one under way at a time; those completed meanwhile wait
    // for it and go together).
    counter.calls.length = 0
    expect(await Promise.all(Array.from({ length: 40 }, (_, index) => search(`q${index}`)))).toHaveLength(40)
    await haldir.flush()
    expect(counter.calls.filter((call) => call.endsWith('/authorize'))).toHaveLength(1)
    expect(counter.calls.filter((call) => call === 'POST /native/v1/authorizations')).toHaveLength(1)
    const settles = counter.calls.filter((call) => !call.endsWith('/authorize') && !call.endsWith('/authorizations'))
    expect(settles.length).toBeLessThan(40)
    expect(settles).toContain('POST /native/v1/settles')
    // Read-your-writes: this client's reads see every settle.
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.41, reservedUsd: 0 })
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
    counter.calls.length = 0
    const denied = withHaldir(async () => 'never', { haldir, sessionId: session.id, scope: 'send_email', tool: 'email', onDenied: 'message' })
    expect(await denied()).toMatch(/^BLOCKED/)
    expect(counter.calls).toHaveLength(1)
    // Inline settles: the caller waits for both round trips.
    const inline = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA, fetch: counter.fetch }), settle: 'inline' })
    const inlineSearch = withHaldir(async (query: string) => query, { haldir: inline, sessionId: session.id, scope: 'browse', tool: 'search', cost: 0.01 })
    counter.calls.length = 0
    await inlineSearch('y')
    expect(counter.calls).toEqual([`POST /native/v1/sessions/${session.id}/authorize`, expect.stringMatching(new RegExp(`^POST /native/v1/sessions/${session.id}/holds/hold_[^/]+/settle$`))])
  })

  it('settles many in one request, each on its own and only within the key\'s tenant', async () => {
    const a = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA }), settle: 'inline' })
    const b = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyB }), settle: 'inline' })
    const mine = await a.createSession({ agentId: 'batch', scopes: ['x'], spendLimit: 1 })
    const theirs = await b.createSession({ agentId: 'batch', scopes: ['x'], spendLimit: 1 })
    const holds = [await a.reserve(mine.id, 0.2, { tool: 'x' }), await a.reserve(mine.id, 0.3, { tool: 'x' })]
    const foreign = await b.reserve(theirs.id, 0.4, { tool: 'x' })
    const item = (sessionId: string, holdId: string, amountMicros: number) => ({ sessionId, holdId, amountMicros, outcome: 'ok', action: 'execute', flagged: false, reason: null, details: {} })
    const response = await raw('/native/v1/settles', {
      method: 'POST',
      body: JSON.stringify({ settles: [item(mine.id, holds[0]?.id as string, 100_000), item(theirs.id, foreign.id, 400_000), item(mine.id, holds[1]?.id as string, 300_000)] }),
    })
    expect(response.status).toBe(200)
    const { results } = (await response.json()) as { results: { ok: boolean; error?: { code: string } }[] }
    expect(results.map((result) => result.ok)).toEqual([true, false, true])
    expect(results[1]?.error?.code).toBe('not_found')
    expect(await a.getSpend(mine.id)).toMatchObject({ totalUsd: 0.4, reservedUsd: 0 })
    // Tenant B's hold is untouched by tenant A's key.
    expect(await b.getSpend(theirs.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0.4 })
    // Bad batches are refused whole, before anything is settled.
    for (const body of [{ settles: [] }, { settles: Array.from({ length: 501 }, () => item(mine.id, 'hold_x', 0)) }, { settles: [{ ...item(theirs.id, foreign.id, 1), tenant: 'b' }] }]) {
      const refused = await raw('/native/v1/settles', { method: 'POST', body: JSON.stringify(body) })
      expect([400, 413]).toContain(refused.status)
    }
    expect(await b.getSpend(theirs.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0.4 })
  })

  it('answers /healthz without a key', async () => {
    const response = await raw('/healthz', { key: null })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ ok: true, backend: 'memory', alive: true, status: 'ok', service: 'haldir' })
  })

  it('refuses a missing or unknown key with 401', async () => {
    for (const key of [null, 'hld_wrong', `${keyA}x`]) {
      const response = await raw('/native/v1/sessions/ses_x', { key })
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } })
    }
    const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: 'hld_not_a_key' }) })
    const error = await haldir.getSession('ses_x').catch((caught: unknown) => caught)
    expect(BackendError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'unauthorized', status: 401 })
  })

  it("keeps each tenant out of another's sessions, secrets and audit (404)", async () => {
    const a = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA }) })
    const session = await a.createSession({ agentId: 'tenant-a-agent', scopes: ['db'] })
    await a.storeSecret('tenant_a_only', 'a-secret-value', { scopeRequired: 'db' })
    for (const path of [`/native/v1/sessions/${session.id}`, `/native/v1/sessions/${session.id}/spend`, `/native/v1/sessions/${session.id}/audit/verify`, `/native/v1/audit?sessionId=${session.id}`]) {
      const response = await raw(path, { key: keyB })
      expect(response.status, path).toBe(404)
      expect(await response.json()).toMatchObject({ error: { code: 'not_found' } })
    }
    const revoke = await raw(`/native/v1/sessions/${session.id}/revoke`, { key: keyB, method: 'POST', body: '{}' })
    expect(revoke.status).toBe(404)
    const charge = await raw(`/native/v1/sessions/${session.id}/authorize`, {
      key: keyB,
      method: 'POST',
      body: JSON.stringify({ mode: 'charge', scope: null, tool: 'x', action: 'payment', amountMicros: 1, idempotencyKey: null, details: {} }),
    })
    expect(charge.status).toBe(404)
    const b = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyB }) })
    const other = await b.createSession({ agentId: 'tenant-b-agent', scopes: ['*'] })
    await expect(b.getSecret('tenant_a_only', { sessionId: other.id })).rejects.toBeInstanceOf(NotFoundError)
    const byAgent = await raw(`/native/v1/audit?agentId=tenant-a-agent`, { key: keyB })
    expect(await byAgent.json()).toMatchObject({ count: 0, entries: [] })
    expect((await a.getSession(session.id)).revokedAt).toBeNull()
    expect(await a.getSpend(session.id)).toMatchObject({ totalUsd: 0 })
  })

  it('refuses malformed JSON (400), oversized bodies (413), unknown routes (404) and bad fields (400)', async () => {
    const malformed = await raw('/native/v1/sessions', { method: 'POST', body: '{"agentId": ' })
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toMatchObject({ error: { code: 'validation_error', message: 'Request body is not valid JSON' } })
    const huge = await raw('/native/v1/sessions', { method: 'POST', body: JSON.stringify({ agentId: 'x', metadata: { blob: 'x'.repeat(100 * 1024) } }) })
    expect(huge.status).toBe(413)
    expect(await huge.json()).toMatchObject({ error: { code: 'payload_too_large' } })
    const unknown = await raw('/native/v1/nope')
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } })
    const bad = await raw('/native/v1/sessions', { method: 'POST', body: JSON.stringify({ agentId: 'x', scopes: [''], limitMicros: -5, ttlMs: 1000, parentId: null, metadata: {} }) })
    expect(bad.status).toBe(400)
    const body = (await bad.json()) as { error: { code: string; data: { issues: { path: string }[] } } }
    expect(body.error.code).toBe('validation_error')
    expect(body.error.data.issues.map((issue) => issue.path).sort()).toEqual(['limitMicros', 'scopes.0'])
    const array = await raw('/native/v1/sessions', { method: 'POST', body: '[1,2]' })
    expect(array.status).toBe(400)
  })

  it('rebuilds typed errors on the client, with their fields', async () => {
    const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA }) })
    const session = await haldir.createSession({ agentId: 'typed', scopes: ['read'], spendLimit: 0.5 })
    const over = await haldir.authorizePayment(session.id, 0.6).catch((error: unknown) => error)
    expect(over).toBeInstanceOf(BudgetExceededError)
    expect(over).toMatchObject({ limitUsd: 0.5, requestedUsd: 0.6, spentUsd: 0 })
    await expect(haldir.createSession({ agentId: 'child', scopes: ['write'], parentId: session.id })).rejects.toBeInstanceOf(PermissionDeniedError)
    await expect(haldir.getSession('ses_nope')).rejects.toBeInstanceOf(NotFoundError)
    const hold = await haldir.reserve(session.id, 0.1)
    await expect(hold.settle(0.2)).rejects.toBeInstanceOf(ValidationError)
    await haldir.revokeSession(session.id)
    await expect(haldir.getSecret('anything', { sessionId: session.id })).rejects.toBeInstanceOf(SessionRevokedError)
  })

  it('turns an unreachable server into BackendError', async () => {
    const haldir = createHaldir({ backend: httpBackend({ url: 'http://127.0.0.1:9', apiKey: keyA, retries: 0 }) })
    const error = await haldir.getSession('ses_x').catch((caught: unknown) => caught)
    expect(BackendError.isInstance(error)).toBe(true)
    expect((error as Error).message).toContain('unreachable')
  })

  it('retries only where an idempotency key (or a hold) makes it safe, and charges once', async () => {
    // A fetch that delivers the request but loses the first answer: the worst case for a retry.
    const losing = () => {
      let lost = 0
      const calls: string[] = []
      const wrapped: typeof fetch = async (input, init) => {
        calls.push(new URL(String(input)).pathname)
        const response = await fetch(input, init)
        if (lost === 0 && init?.method === 'POST') {
          lost++
          await response.body?.cancel()
          throw new TypeError('fetch failed: socket hang up')
        }
        return response
      }
      return { fetch: wrapped, calls }
    }
    const setup = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA }) })
    const session = await setup.createSession({ agentId: 'retry', spendLimit: 1 })

    const noKey = losing()
    const plain = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA, fetch: noKey.fetch }) })
    await expect(plain.authorizePayment(session.id, 0.1)).rejects.toBeInstanceOf(BackendError)
    expect(noKey.calls).toHaveLength(1)

    const withKey = losing()
    const keyed = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA, fetch: withKey.fetch }) })
    const receipt = await keyed.authorizePayment(session.id, 0.1, { idempotencyKey: 'invoice-7' })
    expect(receipt.amountUsd).toBe(0.1)
    expect(withKey.calls).toHaveLength(2)

    const hold = await setup.reserve(session.id, 0.3)
    const settleLoss = losing()
    const settler = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA, fetch: settleLoss.fetch }) })
    const entry = await settler.backend.settle({ tenant: 'a', sessionId: session.id, holdId: hold.id, amountMicros: 200_000, outcome: 'ok', action: 'execute', flagged: false, reason: null, details: {} })
    expect(entry.chargedMicros).toBe(200_000)
    expect(settleLoss.calls).toHaveLength(2)

    // The lost-answer payment without a key did go through once; the keyed one once; the hold once.
    expect(await setup.getSpend(session.id)).toMatchObject({ totalUsd: 0.4, reservedUsd: 0 })
  })

  it('lists the tenant sessions for the dashboard', async () => {
    const b = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyB }) })
    const session = await b.createSession({ agentId: 'listed' })
    const response = await raw('/native/v1/sessions?limit=5', { key: keyB })
    const sessions = (await response.json()) as { id: string }[]
    expect(sessions.map((item) => item.id)).toContain(session.id)
    const fromA = (await (await raw('/native/v1/sessions?limit=1000')).json()) as { id: string }[]
    expect(fromA.map((item) => item.id)).not.toContain(session.id)
  })
})

describe('options', () => {
  it('refuses an option it does not know, naming the nearest, instead of leaving a limit at its default', async () => {
    const apiKeys = apiKeyStore([{ tenant: 't', role: 'admin', key: createApiKey() }])
    const typo = { backend: memoryBackend(), apiKeys, port: 0, ratelimits: { perKey: false } } as never
    await expect(serveHaldir(typo)).rejects.toThrow(/options\.ratelimits: is not an option \(did you mean rateLimits\?\)/)
    await expect(serveHaldir({ backend: memoryBackend(), apiKeys, port: 0, rateLimits: { perkey: false } as never })).rejects.toThrow(/options\.rateLimits\.perkey: is not an option \(did you mean perKey\?\)/)
    await expect(serveHaldir({ backend: memoryBackend(), apiKeys, port: 0, rateLimits: { perKey: { points: 5, duration: 60 } as never } })).rejects.toThrow(/rateLimits\.perKey\.duration: is not an option \(did you mean durationSeconds\?\)/)
    await expect(serveHaldir({ backend: memoryBackend(), apiKeys, port: 0, rateLimits: { perKey: { points: 0, durationSeconds: 60 } } })).rejects.toThrow(/rateLimits\.perKey\.points: must be a whole number ≥ 1/)
  })
})

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, then refuses new connections', async () => {
    const inner = memoryBackend()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow: HaldirBackend = {
      ...inner,
      async getSpend(request) {
        await gate
        return inner.getSpend(request)
      },
    }
    const key = createApiKey()
    const server = await serveHaldir({ backend: slow, apiKeys: apiKeyStore([{ tenant: 't', role: 'admin', key }]), port: 0 })
    const haldir = createHaldir({ backend: httpBackend({ url: server.url, apiKey: key, retries: 0 }) })
    const session = await haldir.createSession({ agentId: 'slow' })
    const inFlight = haldir.getSpend(session.id)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const closed = server.close()
    setTimeout(release, 100)
    expect(await inFlight).toMatchObject({ totalUsd: 0 })
    await closed
    await expect(haldir.getSession(session.id)).rejects.toBeInstanceOf(BackendError)
  })
})

describe('details over the wire', () => {
  it('normalises details to plain JSON before they reach the backend', async () => {
    const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keyA }) })
    const session = await haldir.createSession({ agentId: 'nul' })
    const response = await raw(`/native/v1/sessions/${session.id}/audit`, {
      method: 'POST',
      body: JSON.stringify({ tool: 'x', action: 'execute', scope: null, outcome: 'ok', flagged: false, reason: null, costMicros: 0, details: { text: 'a\u0000b', nested: { n: 1 } } }),
    })
    expect(response.status).toBe(201)
    expect(await response.json()).toMatchObject({ details: { text: 'a\uFFFDb', nested: { n: 1 } } })
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
  })
})
