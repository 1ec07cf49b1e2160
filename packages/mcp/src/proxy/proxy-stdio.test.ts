import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHaldir, type Haldir, httpBackend, memoryBackend } from '@haldir/core'
import { apiKeyStore, createApiKey, type RunningHaldirServer, serveHaldir } from '@haldir/server'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient, proxyConfig, text, toolNames } from './proxy-fixtures.test-helper.ts'
import type { ProxyConfigInput } from './proxy-config.ts'
import { startProxy } from './start-proxy.ts'

const cli = fileURLToPath(new URL('../cli.ts', import.meta.url))
const folder = mkdtempSync(join(tmpdir(), 'haldir-mcp-'))
const acmeKey = createApiKey()
const rivalKey = createApiKey()
let server: RunningHaldirServer
let acme: Haldir
let rival: Haldir
const clients: Client[] = []

beforeAll(async () => {
  server = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'acme', role: 'agent', key: acmeKey }, { tenant: 'rival', role: 'agent', key: rivalKey }]), port: 0, dashboard: false })
  acme = createHaldir({ backend: httpBackend({ url: server.url, apiKey: acmeKey }) })
  rival = createHaldir({ backend: httpBackend({ url: server.url, apiKey: rivalKey }) })
})
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()))
  await server.close()
})

function writeConfig(name: string, config: ProxyConfigInput): string {
  const file = join(folder, `${name}.json`)
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

/** The official SDK client, running `haldir-mcp proxy` as its stdio server, as Claude Desktop does. */
async function spawnProxy(args: string[]): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: ['--conditions=@haldir/source', cli, 'proxy', ...args], stderr: 'pipe' })
  let stderr = ''
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const client = new Client({ name: 'stdio-test', version: '1.0.0' })
  await client.connect(transport)
  clients.push(client)
  return { client, stderr: () => stderr }
}

describe('haldir-mcp proxy over stdio, against haldir serve', () => {
  it('governs every call of the session: listed by scope, charged, refused when out of scope or budget, released on a crash', async () => {
    const session = await acme.createSession({ agentId: 'desktop', scopes: ['payments', 'read', 'crash'], spendLimit: 0.5 })
    const file = writeConfig('acme', proxyConfig({ backend: { url: server.url, apiKey: acmeKey }, session: { id: session.id } }))
    const { client, stderr } = await spawnProxy(['--config', file])
    expect(await toolNames(client)).toEqual(['charge', 'crash', 'everything__echo', 'pay__echo', 'search'])

    expect(text(await client.callTool({ name: 'charge', arguments: { amount: 0.3 } }))).toBe('charged $0.3')
    expect(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'hi' } }))).toBe('Echo: hi')
    const outside = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } })
    expect(text(outside)).toBe("BLOCKED: scope 'math' not granted (session has: payments, read, crash)")
    const over = await client.callTool({ name: 'charge', arguments: { amount: 0.3 } })
    expect(over).toMatchObject({ isError: true, _meta: { haldir: { code: 'budget_exceeded' } } })
    const crashed = await client.callTool({ name: 'crash', arguments: {} })
    expect(crashed).toMatchObject({ isError: true, _meta: { haldir: { code: 'upstream_error' } } })

    expect(await acme.getSpend(session.id)).toMatchObject({ totalUsd: 0.3, reservedUsd: 0, remainingUsd: 0.2, byTool: { charge: 0.3 } })
    const { entries } = await acme.getAuditTrail({ sessionId: session.id })
    expect(entries.filter((entry) => entry.tool !== 'haldir' && entry.action !== 'hold.open').map((entry) => [entry.tool, entry.outcome, entry.flagged, entry.costUsd])).toEqual([
      ['charge', 'ok', false, 0.3],
      ['everything__echo', 'ok', false, 0],
      ['get-sum', 'denied', true, 0],
      ['charge', 'denied', true, 0],
      ['crash', 'error', true, 0],
    ])
    expect(await acme.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
    expect(stderr()).toMatch(/serving \d+ tools from 2 upstreams over stdio as session ses_/)
    // The client closing stdin is how Claude Desktop stops a server: the proxy shuts down cleanly.
    await client.close()
    expect(stderr()).toContain('haldir-mcp: client closed stdin, shutting down\n')
    expect(stderr().endsWith('haldir-mcp: stopped\n')).toBe(true)
  })

  it('creates a session per connection when configured to, with the configured scopes and limit', async () => {
    const file = writeConfig('create', proxyConfig({ backend: { url: server.url, apiKey: acmeKey }, session: { create: { agentId: 'cursor', scopes: ['math'], spendLimit: 0.002 } } }))
    const { client, stderr } = await spawnProxy(['--config', file])
    expect(await toolNames(client)).toEqual(['get-sum'])
    await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } })
    await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } })
    expect(text(await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } }))).toMatch(/^BLOCKED: /)
    const sessionId = /as session (ses_\S+)/.exec(stderr())?.[1] as string
    expect(await acme.getSession(sessionId)).toMatchObject({ agentId: 'cursor', scopes: ['math'], spendLimit: 0.002 })
    expect(await acme.getSpend(sessionId)).toMatchObject({ totalUsd: 0.002, remainingUsd: 0 })
  })
})

describe('tenant isolation behind haldir serve', () => {
  it("a proxy holding tenant A's key cannot govern as tenant B's session, over stdio or HTTP", async () => {
    const theirs = await rival.createSession({ agentId: 'rival-agent', scopes: ['*'], spendLimit: 100 })
    const ours = await acme.createSession({ agentId: 'acme-agent', scopes: ['payments'], spendLimit: 1 })

    const stdioConfig = proxyConfig({ backend: { url: server.url, apiKey: acmeKey }, session: { id: theirs.id } })
    await expect(startProxy({ config: stdioConfig, log: () => {} })).rejects.toMatchObject({ code: 'not_found' })

    const running = await startProxy({ config: proxyConfig({ backend: { url: server.url, apiKey: acmeKey }, session: { header: 'x-haldir-session' } }), http: { port: 0 }, log: () => {} })
    try {
      await expect(httpClient(running.url as string, { 'x-haldir-session': theirs.id })).rejects.toThrow(/403|No Haldir session/)
      const client = await httpClient(running.url as string, { 'x-haldir-session': ours.id })
      clients.push(client)
      expect(text(await client.callTool({ name: 'charge', arguments: { amount: 0.5 } }))).toBe('charged $0.5')
      expect(await acme.getSpend(ours.id)).toMatchObject({ totalUsd: 0.5 })
    } finally {
      await running.close()
    }
    // Tenant B's session saw nothing, and tenant B cannot read tenant A's.
    expect((await rival.getAuditTrail({ sessionId: theirs.id })).entries.map((entry) => entry.action)).toEqual(['session.create'])
    expect(await rival.getSpend(theirs.id)).toMatchObject({ totalUsd: 0 })
    await expect(rival.getAuditTrail({ sessionId: ours.id })).rejects.toMatchObject({ code: 'not_found' })
  })
})
