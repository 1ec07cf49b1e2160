import { createRequire } from 'node:module'
import { serve } from '@hono/node-server'
import { BudgetExceededError, createHaldir, type HaldirBackend, httpBackend, memoryBackend, NotFoundError, ValidationError, withHaldir } from '@haldir/core'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { countingFetch } from './counting-fetch.test-helper.ts'
import { createHaldirServer } from './create-haldir-server.ts'
import type { RateLimitOptions } from './rate-limits.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => { name: string; metrics: { value?: string; labels?: Record<string, string>; count?: string }[] }[]

const keys = { admin: createApiKey(), agent: createApiKey(), auditor: createApiKey() }
const store = () =>
  apiKeyStore([
    { tenant: 'acme', role: 'admin', key: keys.admin },
    { tenant: 'acme', role: 'agent', key: keys.agent },
    { tenant: 'acme', role: 'auditor', key: keys.auditor },
  ])

const running: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()))
})

async function start(rateLimits: RateLimitOptions = { perKey: false }): Promise<RunningHaldirServer> {
  const server = await serveHaldir({ backend: memoryBackend(), apiKeys: store(), port: 0, publishTreeHeadsEveryMs: false, rateLimits })
  running.push(server)
  return server
}

const gate = (sessionId: string, amountMicros: number) => ({
  tenant: 'acme',
  sessionId,
  mode: 'reserve' as const,
  scope: 'search',
  tool: 'search',
  action: 'execute',
  amountMicros,
  idempotencyKey: null,
  holdTtlMs: null,
  approval: null,
  approvalId: null,
  details: {},
})

/** A batch of gates sent as a raw request with `apiKey`, as any client could send it. */
const postAuthorizations = (url: string, apiKey: string, authorizations: unknown[]) =>
  fetch(`${url}/native/v1/authorizations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ authorizations }),
  })

describe('gates of concurrent callers travel together over HTTP', () => {
  it('decides 60 concurrent gates on a $1.00 budget in far fewer requests: exactly 33 of $0.03 pass, the rest are denied on their own', async () => {
    const server = await start()
    const wire = countingFetch()
    const haldir = createHaldir({ backend: httpBackend({ url: server.url, apiKey: keys.agent, fetch: wire.fetch }) })
    const session = await haldir.createSession({ agentId: 'batched', scopes: ['search'], spendLimit: 1 })
    wire.calls.length = 0

    const outcomes = await Promise.allSettled(Array.from({ length: 60 }, () => haldir.reserve(session.id, 0.03, { tool: 'search' })))
    const held = outcomes.filter((outcome) => outcome.status === 'fulfilled')
    expect(held).toHaveLength(33)
    for (const outcome of outcomes) if (outcome.status === 'rejected') expect(BudgetExceededError.isInstance(outcome.reason)).toBe(true)
    // The first gate went alone and at once; the rest arrived while it was under way and went together at the end of the turn.
    expect(wire.calls[0]).toBe(`POST /native/v1/sessions/${session.id}/authorize`)
    expect(wire.calls.filter((call) => call === 'POST /native/v1/authorizations').length).toBeGreaterThanOrEqual(1)
    expect(wire.calls.length).toBeLessThanOrEqual(6)

    const spend = await haldir.getSpend(session.id)
    expect(spend.reservedUsd).toBeCloseTo(0.99, 10)
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
    // The session's creation, then 33 holds opened and 27 denials, each sealed on the trail.
    expect((await haldir.getAuditTrail({ sessionId: session.id })).count).toBe(61)
    await haldir.close()
  })

  it('never holds a gate back until an earlier request answers: one that waited goes at the end of the turn', async () => {
    const server = await start()
    let first = true
    // The first gate's answer is held back 300 ms on its way (a slow link); the server is real.
    const slow: typeof fetch = async (input, init) => {
      const held = first && String(input).endsWith('/authorize')
      if (held) first = false
      const response = await fetch(input, init)
      if (held) await new Promise((resolve) => setTimeout(resolve, 300))
      return response
    }
    const backend = httpBackend({ url: server.url, apiKey: keys.agent, fetch: slow })
    const haldir = createHaldir({ backend })
    const session = await haldir.createSession({ agentId: 'slow-link', scopes: ['search'], spendLimit: 1 })
    const order: string[] = []
    const started = Date.now()
    await Promise.all([
      backend.authorize(gate(session.id, 1_000)).then(() => order.push('first')),
      backend.authorize(gate(session.id, 1_000)).then(() => order.push(`second after ${Date.now() - started} ms`)),
    ])
    expect(order[0]).toMatch(/^second after \d+ ms$/)
    expect(Number(/(\d+) ms/.exec(order[0] as string)?.[1])).toBeLessThan(250)
    await haldir.close()
  })

  it('sends a lone caller’s gate alone and at once, and never batches a gate with an idempotency key', async () => {
    const server = await start()
    const wire = countingFetch()
    const backend = httpBackend({ url: server.url, apiKey: keys.agent, fetch: wire.fetch })
    const haldir = createHaldir({ backend })
    const session = await haldir.createSession({ agentId: 'alone', scopes: ['search'], spendLimit: 1 })
    wire.calls.length = 0
    for (let index = 0; index < 3; index++) await backend.authorize(gate(session.id, 1_000))
    const keyed = await Promise.all(Array.from({ length: 5 }, (_, index) => backend.authorize({ ...gate(session.id, 1_000), idempotencyKey: `call-${index}` })))
    expect(keyed.every((result) => result.allowed)).toBe(true)
    expect(wire.calls).toEqual(Array.from({ length: 8 }, () => `POST /native/v1/sessions/${session.id}/authorize`))
    await haldir.close()
  })

  it('gives each caller of a batch its own error: an unknown session fails its gate only', async () => {
    const server = await start()
    const backend = httpBackend({ url: server.url, apiKey: keys.agent, gateBatch: { inFlight: 1, maxSize: 100 } })
    const haldir = createHaldir({ backend })
    const session = await haldir.createSession({ agentId: 'mixed', scopes: ['search'], spendLimit: 1 })
    const outcomes = await Promise.allSettled([
      backend.authorize(gate(session.id, 1_000)),
      backend.authorize(gate(session.id, 1_000)),
      backend.authorize(gate('ses_nobody', 1_000)),
      backend.authorize(gate(session.id, 1_000)),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    const failed = outcomes[2] as PromiseRejectedResult
    expect(NotFoundError.isInstance(failed.reason)).toBe(true)
    expect((await haldir.getSpend(session.id)).reservedUsd).toBeCloseTo(0.003, 10)
    await haldir.close()
  })

  it('fails only the gates of a request that failed when a batch travels in several requests', async () => {
    const server = await serveHaldir({ backend: memoryBackend(), apiKeys: store(), port: 0, publishTreeHeadsEveryMs: false, rateLimits: { perKey: false }, maxBodyBytes: 300_000 })
    running.push(server)
    const admin = createHaldir({ backend: httpBackend({ url: server.url, apiKey: keys.admin }) })
    const session = await admin.createSession({ agentId: 'split', scopes: ['search'], spendLimit: 1 })
    const backend = httpBackend({ url: server.url, apiKey: keys.agent })
    const sized = (bytes: number) => ({ ...gate(session.id, 1_000), details: { note: 'x'.repeat(bytes) } })
    // Packed at 512 KiB: eight gates of 60 KB (480 KB, past this server's 300 KB limit), then the
    // ninth with two small ones.
    const gates = [...Array.from({ length: 9 }, () => sized(60_000)), sized(10), sized(10)]
    const { results } = await (backend.authorizeMany as NonNullable<HaldirBackend['authorizeMany']>)({ tenant: 'acme', authorizations: gates })
    expect(results.map((outcome) => outcome.ok)).toEqual([...Array.from({ length: 8 }, () => false), true, true, true])
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'payload_too_large' } })
    expect((await admin.getSpend(session.id)).reservedUsd).toBeCloseTo(0.003, 10)
    await admin.close()
  })

  it('counts each gate of a batch against the key’s rate limit: a batch past it is refused whole, with nothing decided', async () => {
    const server = await start({ perKey: { points: 12, durationSeconds: 60 } })
    const admin = createHaldir({ backend: httpBackend({ url: server.url, apiKey: keys.admin }) })
    const session = await admin.createSession({ agentId: 'limited', scopes: ['search'], spendLimit: 1 })
    const backend = httpBackend({ url: server.url, apiKey: keys.agent })
    const body = (count: number) => ({ tenant: 'acme', authorizations: Array.from({ length: count }, () => gate(session.id, 1_000)) })
    const many = backend.authorizeMany as NonNullable<HaldirBackend['authorizeMany']>

    // 10 gates in one request use 10 of the agent key's 12 points.
    const first = await many(body(10))
    expect(first.results.filter((outcome) => outcome.ok && outcome.allowed)).toHaveLength(10)
    // 3 more would need 13: refused whole (429), not one of them decided.
    const refused = await many(body(3))
    expect(refused.results).toEqual(Array.from({ length: 3 }, () => expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'rate_limit_exceeded' }) })))
    const spend = await admin.getSpend(session.id)
    expect(spend.reservedUsd).toBeCloseTo(0.01, 10)
    expect((await admin.getAuditTrail({ sessionId: session.id })).count).toBe(11)
    await admin.close()
  })

  it('allows batches to the roles that may gate, and refuses an auditor key', async () => {
    const server = await start()
    const admin = createHaldir({ backend: httpBackend({ url: server.url, apiKey: keys.admin }) })
    const session = await admin.createSession({ agentId: 'roles', scopes: ['search'], spendLimit: 1 })
    const response = await postAuthorizations(server.url, keys.auditor, [gate(session.id, 1_000)].map(({ tenant: _tenant, ...item }) => item))
    expect(response.status).toBe(403)
    expect((await admin.getSpend(session.id)).reservedUsd).toBe(0)
    await admin.close()
  })

  it('refuses a malformed batch whole before deciding anything: an item naming a tenant, an empty or oversized list', async () => {
    const server = await start()
    const admin = createHaldir({ backend: httpBackend({ url: server.url, apiKey: keys.admin }) })
    const session = await admin.createSession({ agentId: 'malformed', scopes: ['search'], spendLimit: 1 })
    const { tenant: _tenant, ...item } = gate(session.id, 1_000)
    for (const authorizations of [[item, { ...item, tenant: 'other' }], [], Array.from({ length: 201 }, () => item)]) {
      const response = await postAuthorizations(server.url, keys.agent, authorizations)
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('validation_error')
    }
    expect((await admin.getSpend(session.id)).reservedUsd).toBe(0)
    await admin.close()
  })

  it('counts every gate of a batch in the metrics, and the spend of settles that landed together', async () => {
    const server = await start()
    const haldir = createHaldir({ backend: httpBackend({ url: server.url, apiKey: keys.agent }) })
    const session = await haldir.createSession({ agentId: 'metered', scopes: ['search'], spendLimit: 1 })
    const search = withHaldir(async (query: string) => query, { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.005 })
    // Their gates return together, so their settles are queued in one turn and land together (`settleMany`).
    await Promise.all(Array.from({ length: 20 }, (_, index) => search(`q${index}`)))
    await haldir.flush()
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${keys.auditor}` } })).text()
    const families = new Map(parsePrometheus(text).map((family) => [family.name, family]))
    const allowed = families.get('haldir_decisions_total')?.metrics.find((metric) => metric.labels?.outcome === 'allowed')
    expect(Number(allowed?.value)).toBe(20)
    expect(Number(families.get('haldir_gate_duration_seconds')?.metrics[0]?.count)).toBe(20)
    expect(Number(families.get('haldir_spend_microdollars_total')?.metrics.find((metric) => metric.labels?.tool === 'search')?.value)).toBe(100_000)
    await haldir.close()
  })

  it('goes on gate by gate against a server without the batch route', async () => {
    // An older server: the same application with the batch route answering as an unknown route does.
    const app = new Hono()
    app.post('/native/v1/authorizations', (c) => c.json({ error: { code: 'not_found', message: 'No route POST /native/v1/authorizations', data: {} } }, 404))
    app.route('/', createHaldirServer({ backend: memoryBackend(), apiKeys: store() }))
    const url = await new Promise<string>((resolve) => {
      const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(`http://127.0.0.1:${info.port}`))
      running.push({ close: () => new Promise<void>((done) => listening.close(() => done())) })
    })
    const wire = countingFetch()
    const haldir = createHaldir({ backend: httpBackend({ url, apiKey: keys.agent, fetch: wire.fetch, gateBatch: { inFlight: 1 } }) })
    const session = await haldir.createSession({ agentId: 'older', scopes: ['search'], spendLimit: 1 })
    const holds = await Promise.all(Array.from({ length: 10 }, () => haldir.reserve(session.id, 0.01, { tool: 'search' })))
    expect(holds).toHaveLength(10)
    expect((await haldir.getSpend(session.id)).reservedUsd).toBeCloseTo(0.1, 10)
    // One batch tried and refused as unknown; every gate then went alone, and later ones never try again.
    expect(wire.calls.filter((call) => call === 'POST /native/v1/authorizations')).toHaveLength(1)
    await Promise.all(Array.from({ length: 5 }, () => haldir.reserve(session.id, 0.01, { tool: 'search' })))
    expect(wire.calls.filter((call) => call === 'POST /native/v1/authorizations')).toHaveLength(1)
    await haldir.close()
  })

  it('serves batches over a backend of its own that has no batch operation', async () => {
    const own = memoryBackend()
    const backend = Object.create(own, { authorizeMany: { value: undefined } }) as HaldirBackend
    for (const metrics of [true, false]) {
      const server = await serveHaldir({ backend, apiKeys: store(), port: 0, publishTreeHeadsEveryMs: false, rateLimits: { perKey: false }, ...(metrics ? {} : { metrics: false }) })
      running.push(server)
      const wire = countingFetch()
      const haldir = createHaldir({ backend: httpBackend({ url: server.url, apiKey: keys.agent, fetch: wire.fetch, gateBatch: { inFlight: 1 } }) })
      const session = await haldir.createSession({ agentId: 'own', scopes: ['search'], spendLimit: 1 })
      await Promise.all(Array.from({ length: 10 }, () => haldir.reserve(session.id, 0.01, { tool: 'search' })))
      expect(wire.calls.filter((call) => call === 'POST /native/v1/authorizations')).toHaveLength(1)
      expect((await haldir.getSpend(session.id)).reservedUsd).toBeCloseTo(0.1, 10)
      await haldir.close()
    }
  })

  it('refuses gate batch options that would never send or that it does not know', () => {
    for (const gateBatch of [{ inFlight: 0 }, { maxSize: 0 }, { maxSize: 201 }, { inFlight: 1.5 }, { inflight: 2 }]) {
      expect(() => httpBackend({ url: 'http://127.0.0.1:1', apiKey: keys.agent, gateBatch: gateBatch as never })).toThrow(ValidationError)
    }
  })
})
