import { createHaldir } from '@haldir/core'
import { postgresBackend } from '@haldir/postgres'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from '@haldir/postgres/testing'
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, describe, expect, it } from 'vitest'
import { httpClient, testUpstreamScript, text, toolNames } from './proxy-fixtures.test-helper.ts'
import { startProxy } from './start-proxy.ts'

const unavailable = await databaseUnavailable()
const schema = testSchema()
afterAll(async () => {
  if (!unavailable) await dropSchema(schema)
})

describe.skipIf(unavailable)(`the proxy on PostgreSQL, sessions picked by API key${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('creates a session per connection from the bearer key, and keeps each MCP session to its own key', async () => {
    const backendUrl = new URL(testDatabaseUrl)
    backendUrl.searchParams.set('schema', schema)
    const payerKey = `payer-key-${'x'.repeat(16)}`
    const mathKey = `math-key-${'y'.repeat(16)}`
    const previousMasterKey = process.env.HALDIR_MASTER_KEY
    process.env.HALDIR_MASTER_KEY = testMasterKey
    const running = await startProxy({
      config: {
        upstreams: { pay: { command: process.execPath, args: [testUpstreamScript] } },
        scopes: { charge: 'payments', search: 'read' },
        costs: { charge: { argument: 'amount' } },
        backend: { url: backendUrl.href, tenant: 'acme' },
        session: {
          apiKeys: [
            { key: payerKey, session: { create: { agentId: 'pg-payer', scopes: ['payments'], spendLimit: 1 } } },
            { key: mathKey, session: { create: { agentId: 'pg-reader', scopes: ['read'] } } },
          ],
        },
      },
      http: { port: 0 },
      log: () => {},
    })
    const reader = createHaldir({ backend: postgresBackend({ connectionString: testDatabaseUrl, schema, masterKey: testMasterKey }), tenant: 'acme' })
    try {
      const payer = await httpClient(running.url as string, { authorization: `Bearer ${payerKey}` })
      const other = await httpClient(running.url as string, { authorization: `Bearer ${mathKey}` })
      expect(await toolNames(payer)).toEqual(['charge'])
      expect(await toolNames(other)).toEqual(['search'])
      // Resources and prompts pass through only where an upstream turns them on.
      await expect(payer.listResources()).rejects.toThrow(/Method not found/)
      expect(text(await payer.callTool({ name: 'charge', arguments: { amount: 0.4 } }))).toBe('charged $0.4')
      expect(text(await payer.callTool({ name: 'charge', arguments: { amount: 0.7 } }))).toMatch(/^BLOCKED: /)

      const { entries } = await reader.getAuditTrail({ agentId: 'pg-payer' })
      const sessionId = entries[0]?.sessionId as string
      expect(await reader.getSpend(sessionId)).toMatchObject({ totalUsd: 0.4, reservedUsd: 0, remainingUsd: 0.6 })
      expect(await reader.verifyAuditTrail(sessionId)).toMatchObject({ ok: true })

      // Another key presenting the payer's MCP session id is refused; an unknown key gets nothing at all.
      const payerSession = (payer.transport as StreamableHTTPClientTransport).sessionId as string
      const hijack = await fetch(running.url as string, {
        method: 'POST',
        headers: { authorization: `Bearer ${mathKey}`, 'mcp-session-id': payerSession, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'charge', arguments: { amount: 0.1 } } }),
      })
      expect(hijack.status).toBe(403)
      await expect(httpClient(running.url as string, { authorization: 'Bearer not-a-key-of-this-proxy' })).rejects.toThrow(/401|unknown API key/)
      expect(await reader.getSpend(sessionId)).toMatchObject({ totalUsd: 0.4 })
      await Promise.all([payer.close(), other.close()])
    } finally {
      await running.close()
      await reader.close()
      if (previousMasterKey === undefined) delete process.env.HALDIR_MASTER_KEY
      else process.env.HALDIR_MASTER_KEY = previousMasterKey
    }
  })
})
