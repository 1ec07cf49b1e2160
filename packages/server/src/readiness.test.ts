import { memoryBackend } from '@haldir/core'
import { postgresBackend } from '@haldir/postgres'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from '@haldir/postgres/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const unavailable = await databaseUnavailable()
const key = createApiKey()
const apiKeys = apiKeyStore([{ tenant: 'acme', role: 'admin', key }])
const servers: RunningHaldirServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

describe('health and readiness', () => {
  it('says alive on /healthz and ready on /readyz when the backend answers', async () => {
    const server = await serveHaldir({ backend: memoryBackend(), apiKeys, port: 0 })
    servers.push(server)
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ok: true, backend: 'memory', alive: true, status: 'ok', service: 'haldir' })
    const ready = await fetch(`${server.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ ok: true, backend: 'memory' })
  })

  it('with PostgreSQL unreachable: alive but not ready, 503s that name nothing internal, and one log line for the burst', async () => {
    const logged: { message: string; error: unknown }[] = []
    const backend = postgresBackend({ connectionString: 'postgres://postgres@127.0.0.1:1/test', masterKey: testMasterKey })
    const server = await serveHaldir({ backend, apiKeys, port: 0, log: (message, error) => logged.push({ message, error }) })
    servers.push(server)

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${server.url}/readyz`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({ ok: false, backend: 'postgres', error: { code: 'backend_error', message: 'The backend does not answer', data: {} } })

    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${server.url}/native/v1/sessions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
          body: JSON.stringify({ agentId: 'a', scopes: [], limitMicros: null, ttlMs: 60_000, parentId: null, metadata: {} }),
        }),
      ),
    )
    for (const answer of answers) {
      expect(answer.status).toBe(503)
      const text = await answer.text()
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'backend_error', message: expect.stringMatching(/^The backend is unavailable; try again later \(request [0-9a-f-]{36}\)$/) } })
      expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|PostgreSQL|postgres:|\bat /)
    }
    // One line for the whole burst: the reason, no stack, no error object for the logger to print one.
    expect(logged).toHaveLength(1)
    expect(logged[0]?.message).toMatch(/^haldir server: backend failure \(request [0-9a-f-]{36}\): .*ECONNREFUSED 127\.0\.0\.1:1.*; more in the next 30 s are counted, not logged$/)
    expect(logged[0]?.error).toBeUndefined()
    expect(logged[0]?.message).not.toContain('\n')
  })

  it.skipIf(unavailable)(`says ready on a reachable PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ''}`, async () => {
    const schema = testSchema()
    const server = await serveHaldir({ backend: postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema }), apiKeys, port: 0 })
    servers.push(server)
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    } finally {
      await server.close()
      await dropSchema(schema)
    }
  })
})
