import { Agent, request } from 'node:http'
import { BackendError, createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import type { AppendAuditRequest } from '@haldir/core/backend'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const key = createApiKey()
let running: RunningHaldirServer
let connections = 0

beforeAll(async () => {
  running = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'acme', role: 'admin', key }]), port: 0, maxBodyBytes: 64 * 1024 })
  running.server.on('connection', () => connections++)
})
afterAll(() => running.close())

const entry = (sessionId: string, details: Record<string, unknown> = {}): AppendAuditRequest => ({
  tenant: 'acme',
  sessionId,
  tool: 'upload',
  action: 'execute',
  scope: null,
  outcome: 'ok',
  flagged: false,
  reason: null,
  costMicros: 0,
  details,
})

/** One exchange over a given agent (no retries of any kind): status and the Connection header. */
function send(agent: Agent, method: string, path: string, body: string, authorization = `Bearer ${key}`) {
  return new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const outgoing = request(`${running.url}${path}`, { method, agent, headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (incoming) => {
      incoming.resume()
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, connection: incoming.headers.connection }))
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

describe('after a refused upload', () => {
  it('serves the same client 20 non-retried calls in a row (they failed with socket hang up, 20 of 20)', async () => {
    const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: key, retries: 0 }) })
    const session = await haldir.createSession({ agentId: 'uploader' })
    const refused = await haldir.backend.appendAudit(entry(session.id, { blob: 'x'.repeat(1_500_000) })).catch((error: unknown) => error)
    expect(BackendError.isInstance(refused)).toBe(true)
    expect(refused).toMatchObject({ code: 'payload_too_large', status: 413 })
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => haldir.backend.appendAudit(entry(session.id, { index }))))
    expect(results.filter((result) => result.status === 'rejected')).toEqual([])
    expect((await haldir.getAuditTrail({ sessionId: session.id })).count).toBe(21)
  })

  it('drains a moderately oversized body and keeps the connection for the next request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const before = connections
    const refused = await send(agent, 'POST', '/native/v1/sessions', JSON.stringify({ agentId: 'x', metadata: { blob: 'x'.repeat(1_500_000) } }))
    expect(refused).toEqual({ status: 413, connection: 'keep-alive' })
    for (let index = 0; index < 5; index++) expect((await send(agent, 'GET', '/native/v1/sessions?limit=1', '')).status).toBe(200)
    expect(connections - before).toBe(1)
    agent.destroy()
  })

  it('answers a body too large to drain with Connection: close, so the client opens a new connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const before = connections
    const refused = await send(agent, 'POST', '/native/v1/sessions', JSON.stringify({ agentId: 'x', metadata: { blob: 'x'.repeat(6 * 1024 * 1024) } }))
    expect(refused).toEqual({ status: 413, connection: 'close' })
    for (let index = 0; index < 5; index++) expect((await send(agent, 'GET', '/native/v1/sessions?limit=1', '')).status).toBe(200)
    expect(connections - before).toBe(2)
    agent.destroy()
  })

  it('refuses an oversized chunked body (no Content-Length) as it streams, and keeps the connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const before = connections
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = request(`${running.url}/native/v1/sessions`, { method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } }, (incoming) => {
        incoming.resume()
        incoming.on('end', () => resolve(incoming.statusCode ?? 0))
      })
      outgoing.on('error', reject)
      for (let chunk = 0; chunk < 20; chunk++) outgoing.write('x'.repeat(50_000))
      outgoing.end()
    })
    expect(status).toBe(413)
    expect((await send(agent, 'GET', '/native/v1/sessions?limit=1', '')).status).toBe(200)
    expect(connections - before).toBe(1)
    agent.destroy()
  })

  it('drains the unread body of any early answer (401, 403, 404) the same way', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const before = connections
    const large = JSON.stringify({ blob: 'x'.repeat(200_000) })
    expect(await send(agent, 'POST', '/native/v1/sessions', large, 'Bearer hld_wrong')).toMatchObject({ status: 401 })
    expect(await send(agent, 'POST', '/native/v1/nowhere', large)).toMatchObject({ status: 404 })
    expect((await send(agent, 'GET', '/native/v1/sessions?limit=1', '')).status).toBe(200)
    expect(connections - before).toBe(1)
    agent.destroy()
  })
})
