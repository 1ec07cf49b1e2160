import { createHaldir, type Haldir } from '@haldir/core'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient, proxyConfig, serveTestUpstreamOverHttp, text, toolNames } from './proxy-fixtures.test-helper.ts'
import { type RunningProxy, startProxy } from './start-proxy.ts'

const SESSION_HEADER = 'x-haldir-session'
let haldir: Haldir
let running: RunningProxy
const clients: Client[] = []
const notes: string[] = []

beforeAll(async () => {
  haldir = createHaldir()
  // SSE responses here (progress is relayed mid-call); the tenant and PostgreSQL tests use the JSON default.
  running = await startProxy({ config: proxyConfig({ session: { header: SESSION_HEADER }, http: { jsonResponse: false } }), haldir, http: { port: 0 }, log: (line) => notes.push(line) })
})
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()))
  await running.close()
})

async function connectAs(scopes: string[], spendLimit: number | null = 5): Promise<{ client: Client; sessionId: string }> {
  const session = await haldir.createSession({ agentId: `agent-${clients.length}`, scopes, spendLimit })
  const client = await httpClient(running.url as string, { [SESSION_HEADER]: session.id })
  clients.push(client)
  return { client, sessionId: session.id }
}

describe('the proxy over Streamable HTTP', () => {
  it('serves both upstreams, namespacing the tool name they share', () => {
    const names = [...running.proxy.tools.keys()]
    expect(names).toEqual(expect.arrayContaining(['charge', 'search', 'get-sum', 'pay__echo', 'everything__echo']))
    expect(names).not.toContain('echo')
  })

  it('forwards an allowed call, charges the tool cost or the amount in its arguments, and audits both', async () => {
    const { client, sessionId } = await connectAs(['payments', 'math'])
    expect(text(await client.callTool({ name: 'charge', arguments: { amount: 0.25, memo: 'book' } }))).toBe('charged $0.25')
    expect(text(await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } }))).toBe('The sum of 2 and 3 is 5.')
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0.251, reservedUsd: 0, remainingUsd: 4.749, byTool: { charge: 0.25, 'get-sum': 0.001 } })
    const { entries } = await haldir.getAuditTrail({ sessionId })
    expect(entries.filter((entry) => entry.tool !== 'haldir' && entry.action !== 'hold.open').map((entry) => [entry.tool, entry.outcome, entry.scope, entry.costUsd])).toEqual([
      ['charge', 'ok', 'payments', 0.25],
      ['get-sum', 'ok', 'math', 0.001],
    ])
    expect(entries.find((entry) => entry.tool === 'charge')?.details).toMatchObject({ args: { amount: 0.25, memo: 'book' }, upstream: 'pay' })
    expect(await haldir.verifyAuditTrail(sessionId)).toMatchObject({ ok: true })
  })

  it('gives two clients with different sessions different tool lists', async () => {
    const payer = await connectAs(['payments', 'read'])
    const mathematician = await connectAs(['math'])
    expect(await toolNames(payer.client)).toEqual(['charge', 'everything__echo', 'pay__echo', 'search'])
    expect(await toolNames(mathematician.client)).toEqual(['get-sum'])
  })

  it('neither lists nor forwards a tool outside the scopes, and audits the attempt as flagged', async () => {
    const { client, sessionId } = await connectAs(['math'])
    expect(await toolNames(client)).not.toContain('charge')
    const result = await client.callTool({ name: 'charge', arguments: { amount: 1 } })
    expect(result).toMatchObject({ isError: true, _meta: { haldir: { code: 'permission_denied' } } })
    expect(text(result)).toBe("BLOCKED: scope 'payments' not granted (session has: math)")
    expect((await haldir.getAuditTrail({ sessionId, outcome: 'denied' })).entries).toEqual([expect.objectContaining({ tool: 'charge', flagged: true, scope: 'payments' })])
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
  })

  it('refuses the call that would exhaust the budget mid-session, whole', async () => {
    const { client, sessionId } = await connectAs(['payments'], 1)
    expect(text(await client.callTool({ name: 'charge', arguments: { amount: 0.4 } }))).toBe('charged $0.4')
    expect(text(await client.callTool({ name: 'charge', arguments: { amount: 0.4 } }))).toBe('charged $0.4')
    const refused = await client.callTool({ name: 'charge', arguments: { amount: 0.4 } })
    expect(refused).toMatchObject({ isError: true, _meta: { haldir: { code: 'budget_exceeded' } } })
    expect(text(refused)).toMatch(/^BLOCKED: .*budget/i)
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0.8, reservedUsd: 0, remainingUsd: 0.2 })
    expect(text(await client.callTool({ name: 'charge', arguments: { amount: 0.2 } }))).toBe('charged $0.2')
  })

  it('releases the hold and audits the error when the upstream crashes mid-call, then reconnects', async () => {
    const { client, sessionId } = await connectAs(['crash', 'payments'])
    const result = await client.callTool({ name: 'crash', arguments: {} })
    expect(result).toMatchObject({ isError: true, _meta: { haldir: { code: 'upstream_error' } } })
    expect(text(result)).toMatch(/^ERROR: tool 'crash' on upstream 'pay' failed: the upstream connection closed/)
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0, remainingUsd: 5 })
    expect((await haldir.getAuditTrail({ sessionId, outcome: 'error' })).entries).toEqual([
      expect.objectContaining({ tool: 'crash', flagged: true, costUsd: 0, details: expect.objectContaining({ error: { code: 'upstream_error' } }) }),
    ])
    // The next call starts the upstream again.
    expect(text(await client.callTool({ name: 'charge', arguments: { amount: 0.1 } }))).toBe('charged $0.1')
    expect(notes.some((note) => note.includes("upstream 'pay': connection closed"))).toBe(true)
  })

  it('releases the hold and audits a timeout', async () => {
    const { client, sessionId } = await connectAs(['slow'])
    const result = await client.callTool({ name: 'slow', arguments: { ms: 5_000 } })
    expect(result).toMatchObject({ isError: true, _meta: { haldir: { code: 'upstream_timeout' } } })
    expect(text(result)).toBe("ERROR: tool 'slow' on upstream 'pay' timed out after 1000 ms")
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId, outcome: 'error' })).entries.map((entry) => entry.reason)).toEqual(["tool 'slow' on upstream 'pay' timed out after 1000 ms"])
  })

  it("forwards a tool's own error unchanged and does not charge it", async () => {
    const { client, sessionId } = await connectAs(['refuse'])
    expect(await client.callTool({ name: 'refuse', arguments: {} })).toEqual({ content: [{ type: 'text', text: 'card declined' }], isError: true })
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId, outcome: 'error' })).entries.map((entry) => entry.reason)).toEqual(['tool returned an error: card declined'])
  })

  it("relays the upstream's progress notifications under the client's own token", async () => {
    const { client, sessionId } = await connectAs(['trigger-long-running-operation'])
    const progress: { progress: number; total?: number }[] = []
    const result = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, { onprogress: (update) => progress.push(update) })
    expect(text(result)).toBe('Long running operation completed. Duration: 0.3 seconds, Steps: 3.')
    // The SDK runs notification handlers a microtask late, so the last update can lose the race
    // with the result it arrives with (in the proxy's client or in this one); the earlier ones cannot.
    expect(progress.slice(0, 2)).toEqual([
      { progress: 1, total: 3 },
      { progress: 2, total: 3 },
    ])
    expect((await haldir.getAuditTrail({ sessionId })).entries.at(-1)).toMatchObject({ tool: 'trigger-long-running-operation', outcome: 'ok' })
  })

  it('passes resources through read-only for a live session', async () => {
    const { client } = await connectAs(['read'])
    const { resources } = await client.listResources()
    expect(resources.length).toBeGreaterThan(0)
    const first = resources[0] as { uri: string }
    const read = await client.readResource({ uri: first.uri })
    expect(read.contents[0]).toMatchObject({ uri: first.uri })
    expect((await client.listPrompts()).prompts.length).toBeGreaterThan(0)
  })

  it('lists no tools and passes nothing through once the session is revoked', async () => {
    const { client, sessionId } = await connectAs(['read', 'payments'])
    expect(await toolNames(client)).toContain('charge')
    await haldir.revokeSession(sessionId)
    expect(await toolNames(client)).toEqual([])
    await expect(client.listResources()).rejects.toThrow(`Haldir session ${sessionId} is revoked or expired`)
    const refused = await client.callTool({ name: 'charge', arguments: { amount: 0.1 } })
    expect(refused).toMatchObject({ isError: true, _meta: { haldir: { code: 'session_revoked' } } })
  })

  it('refuses a request without a session, or with a session the backend does not have', async () => {
    await expect(httpClient(running.url as string)).rejects.toThrow(/401|missing x-haldir-session header/)
    await expect(httpClient(running.url as string, { [SESSION_HEADER]: 'ses_nope' })).rejects.toThrow(/403|No Haldir session/)
  })
})

describe('the proxy in front of a Streamable HTTP upstream', () => {
  it('forwards with the configured headers, charges, and releases the hold when the upstream goes away', async () => {
    const upstream = await serveTestUpstreamOverHttp('Bearer upstream-secret')
    const local = createHaldir()
    const proxy = await startProxy({
      config: {
        upstreams: { remote: { url: upstream.url, headers: { authorization: 'Bearer upstream-secret' }, timeoutMs: 2_000 } },
        scopes: { charge: 'payments' },
        costs: { charge: { argument: 'amount' } },
        session: { create: { agentId: 'remote-agent', scopes: ['payments'], spendLimit: 2 } },
      },
      haldir: local,
      http: { port: 0 },
      log: () => {},
    })
    try {
      const client = await httpClient(proxy.url as string)
      clients.push(client)
      expect(text(await client.callTool({ name: 'charge', arguments: { amount: 1.25 } }))).toBe('charged $1.25')
      const sessionId = (await local.getAuditTrail({ agentId: 'remote-agent' })).entries[0]?.sessionId as string
      await upstream.close()
      const failed = await client.callTool({ name: 'charge', arguments: { amount: 0.5 } })
      expect(failed).toMatchObject({ isError: true, _meta: { haldir: { code: 'upstream_error' } } })
      expect(text(failed)).toMatch(/^ERROR: tool 'charge' on upstream 'remote' failed/)
      expect(await local.getSpend(sessionId)).toMatchObject({ totalUsd: 1.25, reservedUsd: 0, remainingUsd: 0.75 })
      expect((await local.getAuditTrail({ sessionId, outcome: 'error' })).entries).toEqual([expect.objectContaining({ tool: 'charge', costUsd: 0, details: expect.objectContaining({ upstream: 'remote' }) })])
    } finally {
      await proxy.close()
      await upstream.close().catch(() => {})
    }
  })

  it("expresses upstream's proxy policies as session controls: rate_limit, time_window, spend_limit per call", async () => {
    const upstream = await serveTestUpstreamOverHttp('Bearer upstream-secret')
    const local = createHaldir()
    const proxy = await startProxy({
      config: {
        upstreams: { remote: { url: upstream.url, headers: { authorization: 'Bearer upstream-secret' } } },
        scopes: { charge: 'payments', echo: null },
        // spend_limit { max: 0.5 }: no call may carry more than $0.50.
        costs: { charge: { argument: 'amount' } },
        maxCosts: { charge: 0.5 },
        session: {
          create: {
            agentId: 'policed',
            scopes: ['payments'],
            spendLimit: 10,
            // rate_limit { max_per_minute: 2 } and time_window { start_hour: 0, end_hour: 24 } (always open, but checked).
            rateLimits: [{ calls: 2, per: 60 }],
            activeHours: { start: '00:00', end: '23:59', timeZone: 'UTC' },
          },
        },
      },
      haldir: local,
      http: { port: 0 },
      log: () => {},
    })
    try {
      const client = await httpClient(proxy.url as string)
      clients.push(client)
      expect(text(await client.callTool({ name: 'charge', arguments: { amount: 0.75 } }))).toMatch(/^BLOCKED: .*0\.75.*0\.5/)
      expect(text(await client.callTool({ name: 'charge', arguments: { amount: 0.25 } }))).toBe('charged $0.25')
      expect(text(await client.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toContain('hi')
      const limited = await client.callTool({ name: 'echo', arguments: { message: 'again' } })
      expect(limited).toMatchObject({ isError: true, _meta: { haldir: { code: 'rate_limited' } } })
      expect(text(limited)).toMatch(/^BLOCKED: rate limit: 2 calls per 60s; retry in \d+s$/)
    } finally {
      await proxy.close()
      await upstream.close().catch(() => {})
    }
  })

  it('refuses to start when an upstream cannot be reached, naming it', async () => {
    const refused = startProxy({
      config: { upstreams: { gone: { url: 'http://127.0.0.1:9/mcp' } }, session: { create: { agentId: 'a' } } },
      haldir: createHaldir(),
      http: { port: 0 },
      log: () => {},
    })
    await expect(refused).rejects.toMatchObject({ code: 'upstream_error', failure: 'unavailable', upstream: 'gone' })
    await expect(refused).rejects.toThrow(/^upstream 'gone' is unavailable: /)
  })
})
