import { BudgetExceededError, createHaldir, PermissionDeniedError } from '@haldir/core'
import { generateText, stepCountIs, streamText, tool, ToolLoopAgent } from 'ai'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { haldirToolApproval } from './haldir-tool-approval.ts'
import { scriptedModel } from './scripted-model.test-helper.ts'
import { withHaldir } from './with-haldir.ts'

const haldir = createHaldir()
const newSession = (scopes: string[], spendLimit: number | null = 5) => haldir.createSession({ agentId: `ai-${Math.random().toString(36).slice(2, 8)}`, scopes, spendLimit })

function toolkit() {
  const runs: string[] = []
  const tools = {
    search: tool({
      description: 'Search the web',
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => {
        runs.push(`search:${query}`)
        return { hits: [`${query} result`] }
      },
    }),
    send_email: tool({
      description: 'Send an email',
      inputSchema: z.object({ to: z.string() }),
      execute: async ({ to }) => {
        runs.push(`email:${to}`)
        return `sent to ${to}`
      },
    }),
    flaky: tool({
      description: 'Fails',
      inputSchema: z.object({}),
      execute: async (): Promise<string> => {
        runs.push('flaky')
        throw new Error('upstream 503')
      },
    }),
  }
  return { runs, tools }
}

const parts = (result: { steps: { content: { type: string }[] }[] }) =>
  result.steps.flatMap((step) => step.content.filter((part) => part.type.startsWith('tool-') && part.type !== 'tool-call')) as unknown as {
    type: string
    toolName?: string
    output?: unknown
    error?: unknown
  }[]

describe('withHaldir (AI SDK tools) with generateText', () => {
  it('keeps each tool as it was, schema and description included', async () => {
    const session = await newSession(['*'])
    const { tools } = toolkit()
    const governed = withHaldir(tools, { haldir, sessionId: session.id })
    expectTypeOf(governed).toEqualTypeOf(tools)
    expect(governed.search.inputSchema).toBe(tools.search.inputSchema)
    expect(governed.search.description).toBe('Search the web')
    expect(governed.search.execute).not.toBe(tools.search.execute)
    const single = withHaldir(tools.search, { haldir, sessionId: session.id, auditName: 'search' })
    expectTypeOf(single).toEqualTypeOf(tools.search)
  })

  it('runs allowed calls, refuses out-of-scope ones as tool errors, and the loop goes on', async () => {
    const session = await newSession(['browse'])
    const { runs, tools } = toolkit()
    const model = scriptedModel([
      { toolCalls: [{ name: 'search', input: { query: 'haldir' }, id: 's1' }] },
      { toolCalls: [{ name: 'send_email', input: { to: 'ceo@example.com' }, id: 'e1' }] },
      { text: 'report written' },
    ])
    const result = await generateText({
      model,
      tools: withHaldir(tools, { haldir, sessionId: session.id, scopes: { search: 'browse', send_email: 'send_email' }, costs: { search: 0.01 } }),
      stopWhen: stepCountIs(5),
      prompt: 'research',
    })
    expect(result.text).toBe('report written')
    expect(runs).toEqual(['search:haldir'])
    const [allowed, refused] = parts(result)
    expect(allowed).toMatchObject({ type: 'tool-result', toolName: 'search', output: { hits: ['haldir result'] } })
    expect(refused).toMatchObject({ type: 'tool-error', toolName: 'send_email' })
    expect(PermissionDeniedError.isInstance(refused?.error)).toBe(true)
    // What the model saw on its next turn:
    const prompt = JSON.stringify(model.doGenerateCalls[2]?.prompt)
    expect(prompt).toContain("Scope 'send_email' not granted")
    // The call entries (each call's reservation, `hold.open`, is an entry of its own). A settle
    // is written after its caller has the result, so a later refusal may precede it: by tool.
    const trail = { entries: (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open') }
    expect(trail.entries.filter((entry) => entry.tool !== 'haldir').map((entry) => [entry.tool, entry.outcome, entry.costUsd]).sort()).toEqual([
      ['search', 'ok', 0.01],
      ['send_email', 'denied', 0],
    ])
    expect(trail.entries.find((entry) => entry.tool === 'search')?.details).toMatchObject({ args: { query: 'haldir' }, toolCallId: 's1' })
  })

  it("reports refusals as the tool's result with onDenied: 'message'", async () => {
    const session = await newSession(['read'])
    const { tools } = toolkit()
    const result = await generateText({
      model: scriptedModel([{ toolCalls: [{ name: 'send_email', input: { to: 'x' } }] }, { text: 'ok' }]),
      tools: withHaldir(tools, { haldir, sessionId: session.id, onDenied: 'message' }),
      stopWhen: stepCountIs(3),
      prompt: 'mail',
    })
    expect(parts(result)[0]).toMatchObject({ type: 'tool-result', output: expect.stringMatching(/^BLOCKED: scope 'send_email' not granted/) })
  })

  it('stops paid calls once the budget is spent', async () => {
    const session = await newSession(['*'], 0.025)
    const { runs, tools } = toolkit()
    const result = await generateText({
      model: scriptedModel([1, 2, 3].map((turn) => ({ toolCalls: [{ name: 'search', input: { query: `q${turn}` } }] })).concat([{ text: 'done' }] as never)),
      tools: withHaldir(tools, { haldir, sessionId: session.id, cost: 0.01 }),
      stopWhen: stepCountIs(6),
      prompt: 'search',
    })
    expect(runs).toEqual(['search:q1', 'search:q2'])
    const refused = parts(result)[2]
    expect(refused?.type).toBe('tool-error')
    expect(BudgetExceededError.isInstance(refused?.error)).toBe(true)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.02, reservedUsd: 0 })
  })

  it('releases the hold of a throwing tool and audits the error', async () => {
    const session = await newSession(['*'], 1)
    const { tools } = toolkit()
    const result = await generateText({
      model: scriptedModel([{ toolCalls: [{ name: 'flaky', input: {} }] }, { text: 'recovered' }]),
      tools: withHaldir(tools, { haldir, sessionId: session.id, cost: 0.5 }),
      stopWhen: stepCountIs(3),
      prompt: 'try',
    })
    expect(result.text).toBe('recovered')
    expect(parts(result)[0]).toMatchObject({ type: 'tool-error', toolName: 'flaky' })
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    const entry = (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open').find((each) => each.tool === 'flaky')
    expect(entry).toMatchObject({ outcome: 'error', flagged: true, reason: 'upstream 503' })
  })

  it('governs streaming tools: reserved before the first chunk, settled at the end', async () => {
    const session = await newSession(['*'], 1)
    const report = tool({
      description: 'Writes a report in steps',
      inputSchema: z.object({ pages: z.number() }),
      async *execute({ pages }) {
        for (let page = 1; page <= pages; page++) yield { page }
      },
    })
    const result = await generateText({
      model: scriptedModel([{ toolCalls: [{ name: 'report', input: { pages: 3 } }] }, { text: 'done' }]),
      tools: withHaldir({ report }, { haldir, sessionId: session.id, maxCost: 0.5, costs: { report: (_input, output) => (output as { page: number }).page * 0.02 } }),
      stopWhen: stepCountIs(3),
      prompt: 'report',
    })
    expect(parts(result).at(-1)).toMatchObject({ type: 'tool-result', output: { page: 3 } })
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.06, reservedUsd: 0 })
  })

  it('works with streamText and ToolLoopAgent', async () => {
    const session = await newSession(['*'], 1)
    const { runs, tools } = toolkit()
    // `cost` as a map: the deprecated spelling of `costs`, kept for one release.
    const governed = withHaldir(tools, { haldir, sessionId: session.id, cost: { search: 0.01 } })
    const agent = new ToolLoopAgent({ model: scriptedModel([{ toolCalls: [{ name: 'search', input: { query: 'agent' } }] }, { text: 'agent done' }]), tools: governed })
    const agentResult = await agent.generate({ prompt: 'go' })
    expect(agentResult.text).toBe('agent done')
    const streamed = streamText({
      model: scriptedModel([{ toolCalls: [{ name: 'search', input: { query: 'stream' } }] }, { text: 'stream done' }]),
      tools: governed,
      stopWhen: stepCountIs(3),
      prompt: 'go',
    })
    expect(await streamed.text).toBe('stream done')
    expect(runs).toEqual(['search:agent', 'search:stream'])
    expect((await haldir.getSpend(session.id)).totalUsd).toBe(0.02)
  })
})

describe('haldirToolApproval', () => {
  it("denies out-of-scope calls through the SDK's execution-denied path, before they run", async () => {
    const session = await newSession(['browse'])
    const { runs, tools } = toolkit()
    const model = scriptedModel([{ toolCalls: [{ name: 'search', input: { query: 'a' } }, { name: 'send_email', input: { to: 'b' } }] }, { text: 'done' }])
    const result = await generateText({
      model,
      tools: withHaldir(tools, { haldir, sessionId: session.id, scopes: { search: 'browse' } }),
      toolApproval: haldirToolApproval({ haldir, sessionId: session.id, scopes: { search: 'browse' } }),
      stopWhen: stepCountIs(3),
      prompt: 'go',
    })
    expect(runs).toEqual(['search:a'])
    expect(parts(result).map((part) => part.type)).toEqual(['tool-result', 'tool-approval-request', 'tool-approval-response'])
    const prompt = JSON.stringify(model.doGenerateCalls[1]?.prompt)
    expect(prompt).toContain('"type":"execution-denied"')
    expect(prompt).toContain("BLOCKED: scope 'send_email' not granted")
    const denied = await haldir.getAuditTrail({ sessionId: session.id, outcome: 'denied' })
    expect(denied.entries).toHaveLength(1)
    expect(denied.entries[0]).toMatchObject({ tool: 'send_email', scope: 'send_email', flagged: true, details: { args: { to: 'b' } } })
  })
})

describe('the shared vocabulary, and its deprecated aliases', () => {
  const call = { toolCallId: 'c1', messages: [] } as never

  it('records the input, maps it, or leaves it out (recordInput), and names the entry (auditName)', async () => {
    const session = await newSession(['*'])
    const { tools } = toolkit()
    const mapped = withHaldir(tools.search, { haldir, sessionId: session.id, auditName: 'web', recordInput: (input) => ({ q: (input as { query: string }).query.length }) })
    await mapped.execute?.({ query: 'haldir' }, call)
    const silent = withHaldir(tools.search, { haldir, sessionId: session.id, auditName: 'web', recordInput: false })
    await silent.execute?.({ query: 'secret plans' }, call)
    const [first, second] = (await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action !== 'hold.open').slice(-2)
    expect(first).toMatchObject({ tool: 'web', details: { q: 6, toolCallId: 'c1' } })
    expect(second?.details).toEqual({ toolCallId: 'c1', durationMs: expect.any(Number) })
  })

  it("keeps 'result', 'error' and `name` working as 'message', 'throw' and `auditName`", async () => {
    const session = await newSession(['read'])
    const { tools, runs } = toolkit()
    const asResult = withHaldir(tools.send_email, { haldir, sessionId: session.id, name: 'mail', onDenied: 'result' })
    expect(await asResult.execute?.({ to: 'x' }, call)).toMatch(/^BLOCKED: scope 'mail' not granted/)
    const asError = withHaldir(tools.send_email, { haldir, sessionId: session.id, name: 'mail', onDenied: 'error' })
    await expect(Promise.resolve(asError.execute?.({ to: 'x' }, call))).rejects.toBeInstanceOf(PermissionDeniedError)
    expect(runs).toEqual([])
    expect(() => withHaldir(tools.search, { haldir, sessionId: session.id, onDenied: 'ignore' as never })).toThrow(/onDenied/)
  })
})

describe('typos never pass silently', () => {
  it('refuses unknown options of withHaldir, meterModel and haldirToolApproval, suggesting the right name', async () => {
    const session = await newSession(['*'])
    const { tools } = toolkit()
    expect(() => withHaldir(tools, { haldir, sessionId: session.id, cost: 0, scope: 'x', scoeps: {} } as never)).toThrow(/did you mean 'scopes'/)
    expect(() => withHaldir(tools.search, { haldir, sessionId: session.id, auditname: 'x' } as never)).toThrow(/did you mean 'auditName'/)
    const { meterModel } = await import('./meter-model.ts')
    expect(() => meterModel(scriptedModel([]), { haldir, sessionId: session.id, price: { inputPerMTok: 1, outputPerMTok: 1 }, maxCost: 1, priec: 2 } as never)).toThrow(/unknown option 'priec'/)
    expect(() => haldirToolApproval({ haldir, sessionId: session.id, scope: 'x' } as never)).toThrow(/did you mean 'scopes'/)
  })
})
