import { createHaldir, NotFoundError } from '@haldir/core'
import { AIMessage, ToolMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { tool } from '@langchain/core/tools'
import { createAgent } from 'langchain'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { haldirMiddleware } from './haldir-middleware.ts'

const haldir = createHaldir()
const newSession = (scopes: string[], spendLimit: number | null = 5) => haldir.createSession({ agentId: `mw-${Math.random().toString(36).slice(2, 8)}`, scopes, spendLimit })

function tools() {
  const runs: string[] = []
  const search = tool(
    async ({ query }) => {
      runs.push(`search:${query}`)
      return `hits for ${query}`
    },
    { name: 'search', description: 'Search the web', schema: z.object({ query: z.string() }) },
  )
  const sendEmail = tool(
    async ({ to }) => {
      runs.push(`email:${to}`)
      return `sent to ${to}`
    },
    { name: 'send_email', description: 'Send an email', schema: z.object({ to: z.string() }) },
  )
  const explode = tool(
    async () => {
      runs.push('explode')
      throw new Error('disk full')
    },
    { name: 'explode', description: 'Always fails', schema: z.object({}) },
  )
  return { runs, all: [search, sendEmail, explode] }
}

const toolMessages = (messages: unknown[]) => messages.filter((message) => ToolMessage.isInstance(message)) as ToolMessage[]

describe('haldirMiddleware with createAgent', () => {
  it('runs and audits an allowed call, blocks an out-of-scope one, and the model sees the reason', async () => {
    const session = await newSession(['browse'])
    const { runs, all } = tools()
    const model = fakeModel()
      .respondWithTools([{ name: 'search', args: { query: 'governance' }, id: 'a1' }])
      .respondWithTools([{ name: 'send_email', args: { to: 'ceo@example.com' }, id: 'a2' }])
      .respond(new AIMessage('finished'))
    const agent = createAgent({
      model,
      tools: all,
      middleware: [haldirMiddleware({ haldir, sessionId: session.id, scopes: { search: 'browse', send_email: 'send_email' }, costs: { search: 0.01 } })],
    })
    const result = await agent.invoke({ messages: [{ role: 'user', content: 'go' }] })
    expect(runs).toEqual(['search:governance'])
    const [allowed, blocked] = toolMessages(result.messages)
    expect(allowed).toMatchObject({ status: 'success', content: 'hits for governance' })
    expect(blocked).toMatchObject({ status: 'error', tool_call_id: 'a2' })
    expect(blocked?.content).toMatch(/^BLOCKED: scope 'send_email' not granted/)
    expect((model.calls[2]?.messages.at(-1) as ToolMessage).content).toMatch(/BLOCKED/)
    expect(result.messages.at(-1)?.content).toBe('finished')
    // The call entries (each call's reservation, `hold.open`, is an entry of its own). A settle
    // is written after its caller has the result, so a later refusal may precede it: by tool.
    const trail = { entries: (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open') }
    expect(trail.entries.filter((entry) => entry.tool !== 'haldir').map((entry) => [entry.tool, entry.outcome, entry.costUsd]).sort()).toEqual([
      ['search', 'ok', 0.01],
      ['send_email', 'denied', 0],
    ])
    expect(trail.entries.find((entry) => entry.tool === 'search')?.details).toMatchObject({ args: { query: 'governance' }, toolCallId: 'a1' })
  })

  it('stops paid calls once the budget is spent mid-run', async () => {
    const session = await newSession(['*'], 0.025)
    const { runs, all } = tools()
    const model = fakeModel()
    for (let turn = 1; turn <= 4; turn++) model.respondWithTools([{ name: 'search', args: { query: `q${turn}` }, id: `s${turn}` }])
    model.respond(new AIMessage('out of budget'))
    const agent = createAgent({ model, tools: all, middleware: [haldirMiddleware({ haldir, sessionId: session.id, scopes: { search: null }, costs: { search: 0.01 } })] })
    const result = await agent.invoke({ messages: [{ role: 'user', content: 'search a lot' }] })
    expect(runs).toEqual(['search:q1', 'search:q2'])
    expect(toolMessages(result.messages).map((message) => message.status)).toEqual(['success', 'success', 'error', 'error'])
    // The two settled calls' $0.02 is spent, or still reserved while their settles are on the way.
    expect(toolMessages(result.messages)[2]?.content).toMatch(/BLOCKED: budget exceeded: \$0.01 requested, \$(0.02 spent|0 spent and \$0.02 reserved|0.01 spent and \$0.01 reserved) of \$0.025/)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.02, reservedUsd: 0 })
  })

  it('refuses parallel calls beyond the budget atomically', async () => {
    const session = await newSession(['*'], 0.02)
    const { runs, all } = tools()
    const model = fakeModel()
      .respondWithTools([1, 2, 3, 4].map((index) => ({ name: 'search', args: { query: `p${index}` }, id: `p${index}` })))
      .respond(new AIMessage('done'))
    const agent = createAgent({ model, tools: all, middleware: [haldirMiddleware({ haldir, sessionId: session.id, scopes: { search: null }, costs: { search: 0.01 } })] })
    const result = await agent.invoke({ messages: [{ role: 'user', content: 'fan out' }] })
    expect(runs).toHaveLength(2)
    expect(toolMessages(result.messages).filter((message) => message.status === 'error')).toHaveLength(2)
    expect((await haldir.getSpend(session.id)).totalUsd).toBe(0.02)
  })

  it('catches a throwing tool: hold released, error audited, the run goes on', async () => {
    const session = await newSession(['*'], 1)
    const { all } = tools()
    const model = fakeModel().respondWithTools([{ name: 'explode', args: {}, id: 'e1' }]).respond(new AIMessage('recovered'))
    const agent = createAgent({ model, tools: all, middleware: [haldirMiddleware({ haldir, sessionId: session.id, scopes: { explode: null }, costs: { explode: 0.5 } })] })
    const result = await agent.invoke({ messages: [{ role: 'user', content: 'try' }] })
    expect(toolMessages(result.messages)[0]).toMatchObject({ status: 'error', tool_call_id: 'e1' })
    expect(toolMessages(result.messages)[0]?.content).toContain('disk full')
    expect(result.messages.at(-1)?.content).toBe('recovered')
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    const entry = (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open').find((each) => each.tool === 'explode')
    expect(entry).toMatchObject({ outcome: 'error', flagged: true, reason: 'disk full' })
  })

  it('meters model calls by token usage against the same budget', async () => {
    const session = await newSession(['*'], 1)
    const { all } = tools()
    const usage = { input_tokens: 1000, output_tokens: 500, total_tokens: 1500 }
    const model = fakeModel()
      .respond(new AIMessage({ content: '', tool_calls: [{ name: 'search', args: { query: 'm' }, id: 'm1', type: 'tool_call' }], usage_metadata: usage }))
      .respond(new AIMessage({ content: 'answer', usage_metadata: usage }))
    const agent = createAgent({
      model,
      tools: all,
      middleware: [haldirMiddleware({ haldir, sessionId: session.id, scopes: { search: null }, costs: { search: 0.01 }, meter: { price: { inputPerMTok: 3, outputPerMTok: 15 }, maxCost: 0.05, auditName: 'claude' } })],
    })
    await agent.invoke({ messages: [{ role: 'user', content: 'q' }] })
    // 2 model calls × (1000 × $3 + 500 × $15) / 1M = 2 × $0.0105, plus one $0.01 search.
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.031, reservedUsd: 0, byTool: { claude: 0.021, search: 0.01 } })
    const modelEntries = (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open').filter((entry) => entry.tool === 'claude')
    expect(modelEntries.map((entry) => [entry.costUsd, entry.details])).toEqual([
      [0.0105, { kind: 'generate', inputTokens: 1000, outputTokens: 500 }],
      [0.0105, { kind: 'generate', inputTokens: 1000, outputTokens: 500 }],
    ])
  })

  it("meters at the model's list price from Haldir's table, cache reads and writes at their rates", async () => {
    const session = await newSession(['*'], 1)
    // 10,000 prompt tokens: 1,000 written to the cache, 8,000 read from it; 400 output tokens.
    const usage = { input_tokens: 10_000, output_tokens: 400, total_tokens: 10_400, input_token_details: { cache_creation: 1000, cache_read: 8000 } }
    const model = fakeModel().respond(new AIMessage({ content: 'answer', usage_metadata: usage }))
    // ChatAnthropic, ChatOpenAI and the other integrations carry their model id as `model`.
    Object.assign(model, { model: 'claude-haiku-4-5' })
    const agent = createAgent({ model, tools: [], middleware: [haldirMiddleware({ haldir, sessionId: session.id, meter: { maxCost: 0.05 } })] })
    await agent.invoke({ messages: [{ role: 'user', content: 'q' }] })
    // claude-haiku-4-5: 1,000 × $1 + 1,000 × $1.25 + 8,000 × $0.10 + 400 × $5, per million.
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.00505, byTool: { model: 0.00505 } })
    const entry = (await haldir.getAuditTrail({ sessionId: session.id })).entries.at(-1)
    expect(entry).toMatchObject({ action: 'model.call', details: { inputTokens: 10_000, outputTokens: 400, cachedInputTokens: 8000, cacheWriteInputTokens: 1000 } })
  })

  it('refuses to call a model whose price it cannot find, and takes prices of your own', async () => {
    const session = await newSession(['*'], 1)
    const nameless = fakeModel().respond(new AIMessage('never'))
    const refused = await createAgent({ model: nameless, tools: [], middleware: [haldirMiddleware({ haldir, sessionId: session.id, meter: { maxCost: 0.05 } })] })
      .invoke({ messages: [{ role: 'user', content: 'q' }] })
      .catch((caught: unknown) => caught)
    expect(String((refused as Error).message)).toMatch(/model id/)
    const unknown = fakeModel().respond(new AIMessage('never'))
    Object.assign(unknown, { model: 'mystery-model-1' })
    const alsoRefused = await createAgent({ model: unknown, tools: [], middleware: [haldirMiddleware({ haldir, sessionId: session.id, meter: { maxCost: 0.05 } })] })
      .invoke({ messages: [{ role: 'user', content: 'q' }] })
      .catch((caught: unknown) => caught)
    expect(String((alsoRefused as Error).message)).toMatch(/No price for model 'mystery-model-1'/)
    expect(nameless.callCount + unknown.callCount).toBe(0)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    const priced = fakeModel().respond(new AIMessage({ content: 'ok', usage_metadata: { input_tokens: 1_000_000, output_tokens: 0, total_tokens: 1_000_000 } }))
    Object.assign(priced, { model: 'mystery-model-1' })
    await createAgent({ model: priced, tools: [], middleware: [haldirMiddleware({ haldir, sessionId: session.id, meter: { prices: { 'mystery-model-1': { inputPerMTok: 0.02, outputPerMTok: 0.05 } }, maxCost: 0.05 } })] }).invoke({
      messages: [{ role: 'user', content: 'q' }],
    })
    expect((await haldir.getSpend(session.id)).totalUsd).toBe(0.02)
    expect(() => haldirMiddleware({ haldir, sessionId: session.id, meter: { prices: { x: { inputPerMTok: 1, outputPerMTok: -2 } }, maxCost: 0.05 } })).toThrow(/outputPerMTok/)
  })

  it('refuses a model call the budget cannot hold, before it is made', async () => {
    const session = await newSession(['*'], 0.01)
    const { all } = tools()
    const model = fakeModel().respond(new AIMessage('never'))
    const agent = createAgent({ model, tools: all, middleware: [haldirMiddleware({ haldir, sessionId: session.id, meter: { price: { inputPerMTok: 3, outputPerMTok: 15 }, maxCost: 0.05 } })] })
    const result = await agent.invoke({ messages: [{ role: 'user', content: 'q' }] })
    expect(model.callCount).toBe(0)
    expect(result.messages.at(-1)?.content).toMatch(/^BLOCKED: budget exceeded/)
    expect((await haldir.getAuditTrail({ sessionId: session.id, outcome: 'denied' })).entries[0]).toMatchObject({ tool: 'model', action: 'model.call' })
  })

  it('resolves the session per run from the runtime context', async () => {
    const first = await newSession(['browse'])
    const second = await newSession(['read'])
    const { all } = tools()
    const make = () =>
      createAgent({
        model: fakeModel().respondWithTools([{ name: 'search', args: { query: 'ctx' }, id: 'c1' }]).respond(new AIMessage('ok')),
        tools: all,
        contextSchema: z.object({ sessionId: z.string() }),
        middleware: [haldirMiddleware({ haldir, resolveSession: ({ runtime }) => (runtime.context as { sessionId: string }).sessionId, scopes: { search: 'browse' } })],
      })
    const ok = await make().invoke({ messages: [{ role: 'user', content: 'q' }] }, { context: { sessionId: first.id } })
    const refused = await make().invoke({ messages: [{ role: 'user', content: 'q' }] }, { context: { sessionId: second.id } })
    expect(toolMessages(ok.messages)[0]?.status).toBe('success')
    expect(toolMessages(refused.messages)[0]?.status).toBe('error')
  })

  it("lets Haldir's own failures propagate instead of disguising them as tool errors", async () => {
    const { all } = tools()
    const agent = createAgent({
      model: fakeModel().respondWithTools([{ name: 'search', args: { query: 'x' }, id: 'n1' }]).respond(new AIMessage('ok')),
      tools: all,
      middleware: [haldirMiddleware({ haldir, sessionId: 'ses_unknown', scopes: { search: null } })],
    })
    const error = await agent.invoke({ messages: [{ role: 'user', content: 'q' }] }).catch((caught: unknown) => caught)
    // LangChain wraps what a middleware throws in a MiddlewareError; the cause is Haldir's typed error.
    expect((error as Error).message).toContain("No session 'ses_unknown'")
    expect((error as Error).cause).toBeInstanceOf(NotFoundError)
  })

  it('needs a session source', () => {
    expect(() => haldirMiddleware({ haldir })).toThrow(/sessionId or a resolveSession/)
  })
})
