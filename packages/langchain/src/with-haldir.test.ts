import { createHaldir, PermissionDeniedError } from '@haldir/core'
import { AIMessage, ToolMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { DynamicStructuredTool, StructuredTool, tool } from '@langchain/core/tools'
import { createAgent } from 'langchain'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { withHaldir } from './with-haldir.ts'

const haldir = createHaldir()
const newSession = (scopes: string[], spendLimit: number | null = 5) => haldir.createSession({ agentId: `lc-${Math.random().toString(36).slice(2, 8)}`, scopes, spendLimit })

function searchTool() {
  const runs: string[] = []
  const search = tool(
    async ({ query }) => {
      runs.push(query)
      return `hits for ${query}`
    },
    { name: 'search', description: 'Search the web', schema: z.object({ query: z.string().describe('what to look for') }) },
  )
  return { search, runs }
}

describe('withHaldir (LangChain tool)', () => {
  it('returns the same tool: class, name, description, schema', async () => {
    const session = await newSession(['search'])
    const { search } = searchTool()
    const governed = withHaldir(search, { haldir, sessionId: session.id })
    expect(governed).toBeInstanceOf(DynamicStructuredTool)
    expect(governed.name).toBe('search')
    expect(governed.description).toBe('Search the web')
    expect(governed.schema).toBe(search.schema)
    expect(governed).not.toBe(search)
  })

  it('runs an allowed call with plain args and with a tool call, charging and auditing each', async () => {
    const session = await newSession(['browse'])
    const { search, runs } = searchTool()
    const governed = withHaldir(search, { haldir, sessionId: session.id, scope: 'browse', cost: 0.01 })
    expect(await governed.invoke({ query: 'a' })).toBe('hits for a')
    const message = await governed.invoke({ id: 'call_1', name: 'search', args: { query: 'b' }, type: 'tool_call' })
    expect(ToolMessage.isInstance(message)).toBe(true)
    expect(message).toMatchObject({ content: 'hits for b', tool_call_id: 'call_1', status: 'success' })
    expect(runs).toEqual(['a', 'b'])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.02, byTool: { search: 0.02 } })
    const entries = (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open').filter((entry) => entry.tool === 'search')
    expect(entries.map((entry) => entry.details)).toMatchObject([{ args: { query: 'a' } }, { args: { query: 'b' }, toolCallId: 'call_1' }])
  })

  it('answers a refused tool call with an error ToolMessage, without running the tool', async () => {
    const session = await newSession(['read'])
    const { search, runs } = searchTool()
    const governed = withHaldir(search, { haldir, sessionId: session.id, scope: 'browse' })
    const message = await governed.invoke({ id: 'call_9', name: 'search', args: { query: 'x' }, type: 'tool_call' })
    expect(message).toMatchObject({ status: 'error', tool_call_id: 'call_9', name: 'search' })
    expect(message.content).toMatch(/^BLOCKED: scope 'browse' not granted/)
    expect(await governed.invoke({ query: 'x' })).toMatch(/^BLOCKED: scope 'browse' not granted/)
    const throwing = withHaldir(search, { haldir, sessionId: session.id, scope: 'browse', onDenied: 'throw' })
    await expect(throwing.invoke({ query: 'x' })).rejects.toBeInstanceOf(PermissionDeniedError)
    expect(runs).toEqual([])
    expect((await haldir.getAuditTrail({ sessionId: session.id, outcome: 'denied' })).count).toBe(3)
  })

  it('governs StructuredTool subclasses and content-and-artifact tools', async () => {
    class Lookup extends StructuredTool {
      name = 'lookup'
      description = 'Look a record up'
      schema = z.object({ id: z.number() })
      override responseFormat = 'content_and_artifact'
      protected async _call({ id }: { id: number }): Promise<[string, { id: number }]> {
        return [`record ${id}`, { id }]
      }
    }
    const allowed = await newSession(['lookup'])
    const governed = withHaldir(new Lookup(), { haldir, sessionId: allowed.id, cost: 0.001 })
    expect(governed).toBeInstanceOf(Lookup)
    const message = await governed.invoke({ id: 'c1', name: 'lookup', args: { id: 7 }, type: 'tool_call' })
    expect(message).toMatchObject({ content: 'record 7', artifact: { id: 7 }, status: 'success' })
    const denied = await newSession(['read'])
    const refused = await withHaldir(new Lookup(), { haldir, sessionId: denied.id }).invoke({ id: 'c2', name: 'lookup', args: { id: 7 }, type: 'tool_call' })
    expect(refused).toMatchObject({ status: 'error', tool_call_id: 'c2' })
    expect((await haldir.getSpend(allowed.id)).totalUsd).toBe(0.001)
  })

  it('governs tools inside a real createAgent loop', async () => {
    const session = await newSession(['search'], 0.015)
    const { search, runs } = searchTool()
    const sendEmail = tool(async () => 'sent', { name: 'send_email', description: 'Send an email', schema: z.object({ to: z.string() }) })
    const flaky = tool(
      async () => {
        throw new Error('upstream timeout')
      },
      { name: 'flaky', description: 'Fails', schema: z.object({}) },
    )
    const tools = [search, sendEmail, flaky].map((each) => withHaldir(each, { haldir, sessionId: session.id, scope: each.name === 'send_email' ? 'send_email' : 'search', cost: each.name === 'search' ? 0.01 : 0 }))
    const model = fakeModel()
      .respondWithTools([{ name: 'search', args: { query: 'haldir' }, id: 't1' }])
      .respondWithTools([{ name: 'send_email', args: { to: 'boss@example.com' }, id: 't2' }])
      .respondWithTools([{ name: 'flaky', args: {}, id: 't3' }])
      .respondWithTools([{ name: 'search', args: { query: 'again' }, id: 't4' }])
      .respond(new AIMessage('done'))
    const agent = createAgent({ model, tools })
    const result = await agent.invoke({ messages: [{ role: 'user', content: 'research and report' }] })
    const toolMessages = result.messages.filter((message) => ToolMessage.isInstance(message)) as ToolMessage[]
    expect(toolMessages.map((message) => [message.tool_call_id, message.status])).toEqual([
      ['t1', 'success'],
      ['t2', 'error'],
      ['t3', 'error'],
      ['t4', 'error'],
    ])
    expect(toolMessages[1]?.content).toMatch(/BLOCKED: scope 'send_email' not granted/)
    expect(toolMessages[3]?.content).toMatch(/BLOCKED: budget exceeded/)
    // The model saw the refusal before its next turn.
    const seen = model.calls[2]?.messages.at(-1) as ToolMessage
    expect(seen.content).toMatch(/BLOCKED: scope 'send_email'/)
    expect(runs).toEqual(['haldir'])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.01, reservedUsd: 0 })
    const flakyEntry = (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open').find((entry) => entry.tool === 'flaky')
    expect(flakyEntry).toMatchObject({ outcome: 'error', reason: 'upstream timeout', costUsd: 0 })
  })
})

describe('the shared vocabulary, and its deprecated aliases', () => {
  it('records the input, maps it, or leaves it out (recordInput; recordArgs is its old name)', async () => {
    const session = await newSession(['search'])
    const { search } = searchTool()
    await withHaldir(search, { haldir, sessionId: session.id, recordInput: (input) => ({ length: (input as { query: string }).query.length }) }).invoke({ query: 'abc' })
    await withHaldir(search, { haldir, sessionId: session.id, recordInput: false }).invoke({ query: 'hidden' })
    await withHaldir(search, { haldir, sessionId: session.id, recordArgs: false }).invoke({ query: 'hidden too' })
    const details = (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open').slice(-3).map((entry) => entry.details)
    expect(details.map(({ durationMs: _, ...rest }) => rest)).toEqual([{ length: 3 }, {}, {}])
  })

  it("throws the typed error with onDenied: 'throw'", async () => {
    const session = await newSession(['read'])
    const { search, runs } = searchTool()
    await expect(withHaldir(search, { haldir, sessionId: session.id, onDenied: 'throw' }).invoke({ query: 'x' })).rejects.toBeInstanceOf(PermissionDeniedError)
    expect(runs).toEqual([])
  })
})

describe('typos never pass silently', () => {
  it('refuses unknown options of withHaldir and haldirMiddleware, suggesting the right name', async () => {
    const session = await newSession(['search'])
    const { search } = searchTool()
    expect(() => withHaldir(search, { haldir, sessionId: session.id, cots: 0.01 } as never)).toThrow(/unknown option 'cots' \(did you mean 'cost'\?\)/)
    const { haldirMiddleware } = await import('./haldir-middleware.ts')
    expect(() => haldirMiddleware({ haldir, sessionId: session.id, scope: 'x', scoeps: {} } as never)).toThrow(/did you mean 'scopes'/)
    expect(() => haldirMiddleware({ haldir, sessionId: session.id, meter: { price: { inputPerMTok: 1, outputPerMTok: 1 }, maxcost: 1 } } as never)).toThrow(/did you mean 'maxCost'/)
  })
})
