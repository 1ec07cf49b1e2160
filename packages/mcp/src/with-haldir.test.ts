import { BudgetExceededError, createHaldir, type Haldir, PermissionDeniedError, ValidationError } from '@haldir/core'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import { UpstreamError } from './errors/upstream-error.ts'
import { UpstreamTimeoutError } from './errors/upstream-timeout-error.ts'
import { createTestUpstream, type TestUpstream } from './test-upstream.test-helper.ts'
import { withHaldir } from './with-haldir.ts'

const open: Client[] = []
afterEach(async () => {
  for (const client of open.splice(0)) await client.close()
})

async function connect(): Promise<{ client: Client; upstream: TestUpstream }> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const upstream: TestUpstream = createTestUpstream({ onCrash: () => void upstream.server.close() })
  await upstream.server.connect(serverSide)
  const client = new Client({ name: 'test', version: '1.0.0' })
  await client.connect(clientSide)
  open.push(client)
  return { client, upstream }
}

async function setup(spendLimit = 1): Promise<{ haldir: Haldir; sessionId: string; client: Client; upstream: TestUpstream }> {
  const haldir = createHaldir()
  const session = await haldir.createSession({ agentId: 'mcp-agent', scopes: ['payments', 'echo', 'refuse', 'slow', 'crash'], spendLimit })
  return { haldir, sessionId: session.id, ...(await connect()) }
}

const policy = { scopes: { charge: 'payments' }, costs: { charge: { argument: 'amount' }, echo: 0.001 } } as const

describe('withHaldir(client)', () => {
  it('forwards an allowed call, charges the cost read from its arguments and audits it', async () => {
    const { haldir, sessionId, client } = await setup()
    const governed = withHaldir(client, { haldir, sessionId, ...policy })
    expect(governed).toBeInstanceOf(Client)
    expectTypeOf(governed).toEqualTypeOf<Client>()
    const result = await governed.callTool({ name: 'charge', arguments: { amount: 0.1 } })
    await governed.callTool({ name: 'charge', arguments: { amount: 0.2 } })
    await governed.callTool({ name: 'echo', arguments: { message: 'hi' } })
    expect(result).toEqual({ content: [{ type: 'text', text: 'charged $0.1' }] })
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0.301, reservedUsd: 0, byTool: { charge: 0.3, echo: 0.001 } })
    const { entries } = await haldir.getAuditTrail({ sessionId })
    const settled = entries.filter((entry) => entry.tool === 'charge' && entry.costUsd > 0)
    expect(settled.map((entry) => [entry.outcome, entry.costUsd])).toEqual([
      ['ok', 0.1],
      ['ok', 0.2],
    ])
    expect(entries.find((entry) => entry.tool === 'charge')).toMatchObject({ scope: 'payments', details: { args: { amount: 0.1 } } })
    expect(await haldir.verifyAuditTrail(sessionId)).toMatchObject({ ok: true })
  })

  it('a call the approval rules send to a person waits, its money held, and runs once approved (denied: a BLOCKED tool error)', async () => {
    const haldir = createHaldir()
    const session = await haldir.createSession({ agentId: 'mcp-agent', scopes: ['payments'], spendLimit: 2, approvalRules: [{ kind: 'spend_over', thresholdUsd: 0.5 }] })
    const { client } = await connect()
    const governed = withHaldir(client, { haldir, sessionId: session.id, ...policy })
    const decide = async (how: 'approve' | 'deny') => {
      for (let attempt = 0; attempt < 200; attempt++) {
        const [pending] = await haldir.listApprovals({ status: 'pending', sessionId: session.id })
        if (pending) {
          expect((await haldir.getSpend(session.id)).reservedUsd).toBe(pending.amountUsd)
          return how === 'approve' ? haldir.approve(pending.id, { by: 'ops' }) : haldir.deny(pending.id, { by: 'ops', note: 'no' })
        }
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      throw new Error('no approval requested')
    }
    const [approved] = await Promise.all([governed.callTool({ name: 'charge', arguments: { amount: 0.75 } }), decide('approve')])
    expect(approved).toEqual({ content: [{ type: 'text', text: 'charged $0.75' }] })
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.75, reservedUsd: 0 })
    const [denied] = await Promise.all([governed.callTool({ name: 'charge', arguments: { amount: 0.6 } }), decide('deny')])
    expect(denied).toMatchObject({ isError: true, content: [{ type: 'text', text: expect.stringMatching(/^BLOCKED: approval apr_\S+ was denied by ops: no$/) }] })
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.75, reservedUsd: 0 })
  })

  it('refuses a tool outside the scopes without forwarding it: a BLOCKED tool error, audited and flagged', async () => {
    const { haldir, sessionId, client, upstream } = await setup()
    const governed = withHaldir(client, { haldir, sessionId, ...policy })
    const result = await governed.callTool({ name: 'search', arguments: { query: 'x' } })
    expect(result).toEqual({
      isError: true,
      content: [{ type: 'text', text: "BLOCKED: scope 'search' not granted (session has: payments, echo, refuse, slow, crash)" }],
      _meta: { haldir: { code: 'permission_denied' } },
    })
    expect(upstream.calls).toEqual([])
    const { entries } = await haldir.getAuditTrail({ sessionId, outcome: 'denied' })
    expect(entries).toEqual([expect.objectContaining({ tool: 'search', flagged: true, scope: 'search' })])
    await expect(withHaldir(client, { haldir, sessionId, onDenied: 'throw' }).callTool({ name: 'search', arguments: { query: 'x' } })).rejects.toThrow(PermissionDeniedError)
  })

  it('lists only the tools the session may call, and none once it is revoked', async () => {
    const { haldir, sessionId, client } = await setup()
    const governed = withHaldir(client, { haldir, sessionId, ...policy })
    expect((await client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(['charge', 'crash', 'echo', 'refuse', 'search', 'slow'])
    expect((await governed.listTools()).tools.map((tool) => tool.name).sort()).toEqual(['charge', 'crash', 'echo', 'refuse', 'slow'])
    await haldir.revokeSession(sessionId)
    expect((await governed.listTools()).tools).toEqual([])
  })

  it('refuses the call that would exceed the budget, whole, and keeps the spend exact', async () => {
    const { haldir, sessionId, client, upstream } = await setup(1)
    const governed = withHaldir(client, { haldir, sessionId, ...policy })
    expect((await governed.callTool({ name: 'charge', arguments: { amount: 0.6 } })).isError).toBeUndefined()
    const refused = await governed.callTool({ name: 'charge', arguments: { amount: 0.5 } })
    expect(refused).toMatchObject({ isError: true, _meta: { haldir: { code: 'budget_exceeded' } } })
    expect(JSON.stringify(refused.content)).toContain('BLOCKED: ')
    expect(upstream.calls).toEqual(['charge'])
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0.6, reservedUsd: 0, remainingUsd: 0.4 })
    await expect(withHaldir(client, { haldir, sessionId, ...policy, onDenied: 'throw' }).callTool({ name: 'charge', arguments: { amount: 0.5 } })).rejects.toThrow(BudgetExceededError)
  })

  it('refuses a call whose price argument is missing or bad before anything is held', async () => {
    const { haldir, sessionId, client, upstream } = await setup()
    const governed = withHaldir(client, { haldir, sessionId, ...policy })
    const missing = await governed.callTool({ name: 'charge', arguments: {} })
    expect(missing).toMatchObject({ isError: true, _meta: { haldir: { code: 'validation_error' } } })
    expect(JSON.stringify(missing.content)).toContain('arguments.amount: is required')
    const negative = await governed.callTool({ name: 'charge', arguments: { amount: -5 } })
    expect(JSON.stringify(negative.content)).toContain('arguments.amount: must not be negative')
    expect(upstream.calls).toEqual([])
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
  })

  it("returns a tool's own error result unchanged, uncharged, audited as an error", async () => {
    const { haldir, sessionId, client } = await setup()
    const governed = withHaldir(client, { haldir, sessionId, cost: 0.05 })
    expect(await governed.callTool({ name: 'refuse', arguments: {} })).toEqual({ content: [{ type: 'text', text: 'card declined' }], isError: true })
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    const { entries } = await haldir.getAuditTrail({ sessionId, outcome: 'error' })
    expect(entries).toEqual([expect.objectContaining({ tool: 'refuse', costUsd: 0, reason: 'tool returned an error: card declined', details: expect.objectContaining({ toolError: true }) })])
  })

  it('releases the hold and rejects typed when the server dies mid-call', async () => {
    const { haldir, sessionId, client } = await setup()
    const governed = withHaldir(client, { haldir, sessionId, cost: 0.25 })
    const failure = await governed.callTool({ name: 'crash', arguments: {} }).catch((error: unknown) => error)
    expect(UpstreamError.isInstance(failure) && failure.failure).toBe('closed')
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0, remainingUsd: 1 })
    const { entries } = await haldir.getAuditTrail({ sessionId, outcome: 'error' })
    expect(entries).toEqual([expect.objectContaining({ tool: 'crash', flagged: true, details: expect.objectContaining({ error: { code: 'upstream_error' } }) })])
  })

  it('releases the hold and rejects typed on a timeout', async () => {
    const { haldir, sessionId, client } = await setup()
    const governed = withHaldir(client, { haldir, sessionId, cost: 0.25 })
    const failure = await governed.callTool({ name: 'slow', arguments: { ms: 2_000 } }, undefined, { timeout: 50 }).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(UpstreamTimeoutError)
    expect((failure as UpstreamTimeoutError).timeoutMs).toBe(50)
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId, outcome: 'error' })).entries.map((entry) => entry.reason)).toEqual(["tool 'slow' timed out after 50 ms"])
  })

  it('refuses bad options before any call', async () => {
    const { haldir, sessionId, client } = await setup()
    expect(() => withHaldir(client, { haldir, sessionId, costs: { charge: -1 } })).toThrow(ValidationError)
    expect(() => withHaldir(client, { haldir, sessionId, costs: { charge: -1 } })).toThrow('costs.charge: must not be negative')
    expect(() => withHaldir(client, { haldir, sessionId, scopes: { charge: 'has space' } })).toThrow('scopes.charge')
    expect(() => withHaldir(client, { haldir, sessionId, cost: { argument: 'amount', multiplier: 0.0000001 } })).toThrow('cost.multiplier: has more than 6 decimals')
    expect(() => withHaldir(client, { haldir, sessionId: () => sessionId, filterTools: true })).toThrow('filterTools')
    expect(() => withHaldir({} as Client, { haldir, sessionId })).toThrow('client: must be an MCP Client')
  })
})
