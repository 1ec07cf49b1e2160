import { createHaldir, type Haldir, PermissionDeniedError } from '@haldir/core'
import { ToolMessage } from '@langchain/core/messages'
import { loadMcpTools } from '@langchain/mcp-adapters'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { afterEach, describe, expect, it } from 'vitest'
import { createTestUpstream, type TestUpstream } from '../test-upstream.test-helper.ts'
import { withHaldir } from './with-haldir.ts'

const open: Client[] = []
afterEach(async () => {
  for (const client of open.splice(0)) await client.close()
})

async function setup(spendLimit = 1) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const upstream: TestUpstream = createTestUpstream({ onCrash: () => void upstream.server.close() })
  await upstream.server.connect(serverSide)
  const client = new Client({ name: 'langchain-test', version: '1.0.0' })
  await client.connect(clientSide)
  open.push(client)
  const haldir: Haldir = createHaldir()
  const session = await haldir.createSession({ agentId: 'langchain-agent', scopes: ['payments', 'refuse'], spendLimit })
  const tools = await loadMcpTools('pay', client)
  const byName = (governed: typeof tools, name: string) => governed.find((tool) => tool.name === name) as (typeof tools)[number]
  return { haldir, sessionId: session.id, tools, byName, upstream }
}

describe('withHaldir (tools of @langchain/mcp-adapters)', () => {
  it('charges the amount in the arguments, reserved exactly, and refuses the charge the budget cannot hold', async () => {
    const { haldir, sessionId, tools, byName, upstream } = await setup(1)
    const governed = withHaldir(tools, { haldir, sessionId, scopes: { charge: 'payments' }, costs: { charge: { argument: 'amount' } } })
    expect(governed.map((tool) => tool.name)).toEqual(tools.map((tool) => tool.name))
    const charge = byName(governed, 'charge')
    expect(await charge.invoke({ amount: 0.4 })).toBe('charged $0.4')
    expect(await charge.invoke({ amount: 0.4 })).toBe('charged $0.4')
    expect(await charge.invoke({ amount: 0.4 })).toMatch(/^BLOCKED: .*budget/i)
    expect(upstream.calls).toEqual(['charge', 'charge'])
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0.8, reservedUsd: 0, byTool: { charge: 0.8 } })
  })

  it('answers a tool call outside the scopes with an error ToolMessage, audited as denied', async () => {
    const { haldir, sessionId, tools, byName } = await setup()
    const governed = withHaldir(tools, { haldir, sessionId, scopes: { charge: 'payments' } })
    const answer = await byName(governed, 'search').invoke({ id: 'call_9', name: 'search', args: { query: 'x' }, type: 'tool_call' })
    expect(answer).toBeInstanceOf(ToolMessage)
    expect(answer).toMatchObject({ status: 'error', tool_call_id: 'call_9', content: "BLOCKED: scope 'search' not granted (session has: payments, refuse)" })
    expect((await haldir.getAuditTrail({ sessionId, outcome: 'denied' })).entries).toEqual([expect.objectContaining({ tool: 'search', flagged: true, details: expect.objectContaining({ toolCallId: 'call_9' }) })])
    await expect(withHaldir(tools, { haldir, sessionId, onDenied: 'throw' })[0]?.invoke({ amount: 1 })).rejects.toThrow(PermissionDeniedError)
  })

  it("releases the hold on the tool's own error and rethrows the adapter's ToolException", async () => {
    const { haldir, sessionId, tools, byName } = await setup()
    const governed = withHaldir(tools, { haldir, sessionId, cost: 0.1 })
    const failure = await byName(governed, 'refuse')
      .invoke({})
      .catch((error: unknown) => error)
    expect(failure).toMatchObject({ name: 'ToolException', message: "MCP tool 'refuse' on server 'pay' returned an error: card declined" })
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId, outcome: 'error' })).entries.map((entry) => entry.reason)).toEqual([
      "tool 'refuse' failed: MCP tool 'refuse' on server 'pay' returned an error: card declined",
    ])
  })
})
