import { createHaldir, memoryBackend } from '@haldir/core'
import { withTelemetry } from '@haldir/core/otel'
import { OpenTelemetry } from '@ai-sdk/otel'
import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { generateText, stepCountIs, tool } from 'ai'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { meterModel } from './meter-model.ts'
import { scriptedModel, usage } from './scripted-model.test-helper.ts'
import { withHaldir } from './with-haldir.ts'

const exporter = new InMemorySpanExporter()
const processor = new SimpleSpanProcessor({ exporter })
const contextManager = new AsyncLocalStorageContextManager().enable()
context.setGlobalContextManager(contextManager)
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [processor] }))
afterAll(() => void contextManager.disable())

async function finished(): Promise<ReadableSpan[]> {
  await processor.forceFlush()
  return exporter.getFinishedSpans()
}

describe('withTelemetry under the AI SDK’s OpenTelemetry integration', () => {
  it('puts each gate and settle inside the tool or model span of a generateText tool loop', async () => {
    const haldir = createHaldir({ backend: withTelemetry(memoryBackend()) })
    const session = await haldir.createSession({ agentId: 'analyst', scopes: ['browse'], spendLimit: 1 })
    const tools = withHaldir(
      {
        search: tool({ description: 'Search', inputSchema: z.object({ query: z.string() }), execute: async ({ query }) => `${query} found` }),
        send_email: tool({ description: 'Email', inputSchema: z.object({ to: z.string() }), execute: async ({ to }) => `sent to ${to}` }),
      },
      { haldir, sessionId: session.id, scopes: { search: 'browse', send_email: 'send_email' }, costs: { search: 0.01 } },
    )
    const model = meterModel(
      scriptedModel([{ toolCalls: [{ name: 'search', input: { query: 'otel' } }] }, { toolCalls: [{ name: 'send_email', input: { to: 'ceo@example.com' } }] }, { text: 'done' }], usage(100, 20)),
      { haldir, sessionId: session.id, price: { inputPerMTok: 1, outputPerMTok: 2 }, maxCost: 0.01 },
    )
    // The app's own span around the run: the SDK asks a tool's `needsApproval` (where a governed
    // tool passes the gate) before it opens the tool's span, and makes no span active there.
    const result = await trace.getTracer('app').startActiveSpan('research run', async (run) => {
      const answer = await generateText({ model, tools, stopWhen: stepCountIs(5), prompt: 'research', telemetry: { integrations: [new OpenTelemetry()] } })
      run.end()
      return answer
    })
    expect(result.text).toBe('done')
    const spans = await finished()
    const named = (name: string) => spans.filter((span) => span.name === name)
    const parentName = (span: ReadableSpan | undefined) => spans.find((other) => other.spanContext().spanId === span?.parentSpanContext?.spanId)?.name
    const [run] = named('research run')
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([run?.spanContext().traceId]))

    // Three model calls, each metered inside its own `chat` span.
    const gates = named('haldir.gate')
    const modelGates = gates.filter((span) => span.attributes['gen_ai.operation.name'] === 'chat')
    const modelSettles = named('haldir.settle').filter((span) => span.attributes['gen_ai.operation.name'] === 'chat')
    expect(modelGates).toHaveLength(3)
    expect(modelSettles).toHaveLength(3)
    for (const span of [...modelGates, ...modelSettles]) expect(parentName(span)).toBe('chat mock-model-id')
    expect(modelSettles[0]?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20, 'haldir.cost.charged_micros': 140, 'haldir.agent.id': 'analyst' })

    // The search tool: its gate in the run, its settle inside the SDK's tool span.
    const [searchGate] = gates.filter((span) => span.attributes['gen_ai.tool.name'] === 'search')
    const [searchSettle] = named('haldir.settle').filter((span) => span.attributes['gen_ai.tool.name'] === 'search')
    expect(parentName(searchGate)).toBe('research run')
    expect(parentName(searchSettle)).toBe('execute_tool search')
    expect(searchGate?.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'haldir.decision': 'allowed', 'haldir.scope': 'browse', 'haldir.session.id': session.id })
    expect(searchSettle?.attributes['haldir.hold.id']).toBe(searchGate?.attributes['haldir.hold.id'])
    expect(searchSettle?.attributes['haldir.cost.charged_micros']).toBe(10_000)

    // send_email is out of scope: a denied gate, status ERROR, and nothing settled.
    const [emailGate] = gates.filter((span) => span.attributes['gen_ai.tool.name'] === 'send_email')
    expect(emailGate?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'permission_denied' })
    expect(emailGate?.attributes).toMatchObject({ 'haldir.decision': 'denied', 'haldir.denial.code': 'permission_denied' })
    expect(named('haldir.settle').filter((span) => span.attributes['gen_ai.tool.name'] === 'send_email')).toHaveLength(0)
  })
})
