import { createMCPClient, type MCPClient } from '@ai-sdk/mcp'
import { createHaldir, type Haldir, PermissionDeniedError } from '@haldir/core'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { generateText, stepCountIs } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import { createTestUpstream, type TestUpstream } from '../test-upstream.test-helper.ts'
import { withHaldir } from './with-haldir.ts'

const open: MCPClient[] = []
afterEach(async () => {
  for (const client of open.splice(0)) await client.close()
})

async function setup(spendLimit = 1): Promise<{ haldir: Haldir; sessionId: string; mcp: MCPClient; upstream: TestUpstream }> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const upstream = createTestUpstream({ onCrash: () => void upstream.server.close() })
  await upstream.server.connect(serverSide)
  const mcp = await createMCPClient({ transport: clientSide })
  open.push(mcp)
  const haldir = createHaldir()
  const session = await haldir.createSession({ agentId: 'ai-sdk-agent', scopes: ['payments', 'refuse'], spendLimit })
  return { haldir, sessionId: session.id, mcp, upstream }
}

/** A model that calls the given tools, one turn each, then answers. */
function scripted(calls: { name: string; input: unknown }[]) {
  let turn = 0
  const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } }
  return new MockLanguageModelV4({
    doGenerate: async () => {
      const call = calls[turn]
      turn++
      if (!call) return { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] }
      return { content: [{ type: 'tool-call', toolCallId: `call_${turn}`, toolName: call.name, input: JSON.stringify(call.input) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] }
    },
  })
}

describe('withHaldir (tool sets of @ai-sdk/mcp)', () => {
  it('governs the tools in a generateText loop: the amount in the arguments charged, the refusal read by the model', async () => {
    const { haldir, sessionId, mcp, upstream } = await setup()
    const original = await mcp.tools()
    const tools = withHaldir(original, { haldir, sessionId, scopes: { charge: 'payments' }, costs: { charge: { argument: 'amount' } } })
    expectTypeOf(tools).toEqualTypeOf(original)
    const result = await generateText({
      model: scripted([
        { name: 'charge', input: { amount: 0.35 } },
        { name: 'search', input: { query: 'x' } },
      ]),
      tools,
      stopWhen: stepCountIs(5),
      prompt: 'pay, then search',
    })
    const outputs = result.steps.flatMap((step) => step.content).filter((part) => part.type === 'tool-result' || part.type === 'tool-error')
    expect(outputs.map((part) => [part.type, part.toolName])).toEqual([
      ['tool-result', 'charge'],
      ['tool-error', 'search'],
    ])
    const refusal = outputs[1] as { error: unknown }
    expect(refusal.error).toBeInstanceOf(PermissionDeniedError)
    expect(upstream.calls).toEqual(['charge'])
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0.35, reservedUsd: 0, byTool: { charge: 0.35 } })
    const { entries } = await haldir.getAuditTrail({ sessionId })
    expect(entries.filter((entry) => entry.tool !== 'haldir' && entry.action !== 'hold.open').map((entry) => [entry.tool, entry.outcome, entry.costUsd, entry.details.toolCallId])).toEqual([
      ['charge', 'ok', 0.35, 'call_1'],
      ['search', 'denied', 0, 'call_2'],
    ])
  })

  it("reserves the argument's amount exactly: two 0.4 charges fit a 1.00 budget, the third is refused", async () => {
    const { haldir, sessionId, mcp } = await setup(1)
    const tools = withHaldir(await mcp.tools(), { haldir, sessionId, scopes: { charge: 'payments' }, costs: { charge: { argument: 'amount' } }, onDenied: 'message' })
    const run = (amount: number) => tools.charge?.execute?.({ amount }, { toolCallId: `pay_${amount}`, messages: [], context: {} })
    expect(await run(0.4)).toEqual({ content: [{ type: 'text', text: 'charged $0.4' }], isError: false })
    expect(await run(0.4)).toEqual({ content: [{ type: 'text', text: 'charged $0.4' }], isError: false })
    expect(await run(0.4)).toMatch(/^BLOCKED: .*budget/i)
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0.8, reservedUsd: 0 })
  })

  it("hands the tool's own error to the model unchanged, and does not charge it", async () => {
    const { haldir, sessionId, mcp } = await setup()
    const tools = withHaldir(await mcp.tools(), { haldir, sessionId, cost: 0.2 })
    expect(await tools.refuse?.execute?.({}, { toolCallId: 'c1', messages: [], context: {} })).toEqual({ content: [{ type: 'text', text: 'card declined' }], isError: true })
    expect(await haldir.getSpend(sessionId)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId, outcome: 'error' })).entries.map((entry) => entry.reason)).toEqual(['tool returned an error: card declined'])
  })
})
