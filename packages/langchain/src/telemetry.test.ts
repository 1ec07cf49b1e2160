import { createHaldir, memoryBackend } from '@haldir/core'
import { withTelemetry } from '@haldir/core/otel'
import { AIMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { tool } from '@langchain/core/tools'
import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { createAgent } from 'langchain'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { haldirMiddleware } from './haldir-middleware.ts'

const exporter = new InMemorySpanExporter()
const processor = new SimpleSpanProcessor({ exporter })
const contextManager = new AsyncLocalStorageContextManager().enable()
context.setGlobalContextManager(contextManager)
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [processor] }))
afterAll(() => void contextManager.disable())

describe('withTelemetry under a LangChain createAgent run', () => {
  it('traces every gate, settle and metered model call inside the run’s span', async () => {
    const haldir = createHaldir({ backend: withTelemetry(memoryBackend()) })
    const session = await haldir.createSession({ agentId: 'planner', scopes: ['browse'], spendLimit: 1 })
    const search = tool(async ({ query }) => `hits for ${query}`, { name: 'search', description: 'Search the web', schema: z.object({ query: z.string() }) })
    const sendEmail = tool(async ({ to }) => `sent to ${to}`, { name: 'send_email', description: 'Send an email', schema: z.object({ to: z.string() }) })
    const usage = { input_tokens: 1000, output_tokens: 500, total_tokens: 1500 }
    const model = fakeModel()
      .respondWithTools([{ name: 'search', args: { query: 'governance' }, id: 'a1' }])
      .respondWithTools([{ name: 'send_email', args: { to: 'ceo@example.com' }, id: 'a2' }])
      .respond(new AIMessage({ content: 'finished', usage_metadata: usage }))
    const agent = createAgent({
      model,
      tools: [search, sendEmail],
      middleware: [
        haldirMiddleware({
          haldir,
          sessionId: session.id,
          scopes: { search: 'browse', send_email: 'send_email' },
          costs: { search: 0.01 },
          meter: { price: { inputPerMTok: 3, outputPerMTok: 15 }, maxCost: 0.05 },
        }),
      ],
    })
    const result = await trace.getTracer('app').startActiveSpan('agent run', async (run) => {
      const state = await agent.invoke({ messages: [{ role: 'user', content: 'go' }] })
      run.end()
      return state
    })
    expect(result.messages.at(-1)?.content).toBe('finished')

    await processor.forceFlush()
    const spans: ReadableSpan[] = exporter.getFinishedSpans()
    const [run] = spans.filter((span) => span.name === 'agent run')
    const haldirSpans = spans.filter((span) => span.name.startsWith('haldir.'))
    // Gates of three model calls and two tools; settles of three model calls and one tool.
    expect(haldirSpans.map((span) => span.name).sort()).toEqual([...Array(5).fill('haldir.gate'), ...Array(4).fill('haldir.settle')])
    for (const span of haldirSpans) {
      expect(span.parentSpanContext?.spanId).toBe(run?.spanContext().spanId)
      expect(span.spanContext().traceId).toBe(run?.spanContext().traceId)
      expect(span.attributes).toMatchObject({ 'haldir.session.id': session.id, 'haldir.agent.id': 'planner' })
    }
    const settles = haldirSpans.filter((span) => span.name === 'haldir.settle')
    expect(settles.filter((span) => span.attributes['gen_ai.operation.name'] === 'chat').at(-1)?.attributes).toMatchObject({
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 500,
      'haldir.cost.charged_micros': 10_500,
    })
    expect(settles.find((span) => span.attributes['gen_ai.tool.name'] === 'search')?.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'haldir.cost.charged_micros': 10_000 })
    const denied = haldirSpans.find((span) => span.attributes['gen_ai.tool.name'] === 'send_email')
    expect(denied?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'permission_denied' })
    expect(denied?.attributes['haldir.denial.code']).toBe('permission_denied')
  })
})
