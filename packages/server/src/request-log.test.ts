import { memoryBackend } from '@haldir/core'
import { describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { createHaldirServer } from './create-haldir-server.ts'
import type { RequestLogLine } from './request-log.ts'

const key = createApiKey()

function server() {
  const lines: string[] = []
  const app = createHaldirServer({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'acme', role: 'agent', key }]), requestLog: (line) => lines.push(line) })
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  return { app, lines, post, parsed: () => lines.map((line) => JSON.parse(line) as RequestLogLine) }
}

describe('requestLog', () => {
  it('writes one JSON line per request: id, tenant, route pattern, status, duration', async () => {
    const { post, parsed, lines } = server()
    const created = await post('/native/v1/sessions', { agentId: 'logged', scopes: ['read'], limitMicros: null, ttlMs: 60_000, parentId: null, metadata: { password: 'p4ssw0rd-body' }, approvalRules: [], controls: null }, { 'x-request-id': 'trace-me_42' })
    expect(created.status).toBe(201)
    expect(created.headers.get('x-request-id')).toBe('trace-me_42')
    const session = (await created.json()) as { id: string }
    await post(`/native/v1/sessions/${session.id}/authorize`, { nonsense: true })
    expect(lines).toHaveLength(2)
    const [first, second] = parsed()
    expect(first).toMatchObject({ requestId: 'trace-me_42', tenant: 'acme', method: 'POST', route: '/native/v1/sessions', status: 201 })
    expect(first?.durationMs).toBeGreaterThanOrEqual(0)
    expect(Object.keys(first ?? {}).sort()).toEqual(['durationMs', 'method', 'requestId', 'route', 'status', 'tenant', 'time'])
    // The pattern, not the path: the session id stays out of the log.
    expect(second).toMatchObject({ route: '/native/v1/sessions/:sessionId/authorize', status: 400, tenant: 'acme' })
    const text = lines.join('\n')
    for (const forbidden of [session.id, key, 'p4ssw0rd-body', 'nonsense']) expect(text).not.toContain(forbidden)
  })

  it('replaces a request id that is too long or has unsafe characters, and logs unauthenticated requests without a tenant', async () => {
    const { app, parsed } = server()
    for (const bad of ['x'.repeat(65), 'bad id;drop', '<script>', 'a"b']) {
      const response = await app.request('/native/v1/sessions', { method: 'POST', headers: { 'x-request-id': bad } })
      expect(response.status).toBe(401)
      const echoed = response.headers.get('x-request-id') ?? ''
      expect(echoed).not.toBe(bad)
      expect(echoed).toMatch(/^[\w=-]{1,64}$/)
      expect(parsed().at(-1)).toMatchObject({ requestId: echoed, tenant: null, status: 401 })
    }
  })
})
