import { context, trace, SpanStatusCode } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type SumMetricData } from '@opentelemetry/sdk-metrics'
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { createGovernor, createHaldir, memoryBackend, settleModelUsage } from '../index.ts'
import { HALDIR_METRICS, withTelemetry } from './index.ts'

const spans = new InMemorySpanExporter()
const contextManager = new AsyncLocalStorageContextManager().enable()
context.setGlobalContextManager(contextManager)
const processor = new SimpleSpanProcessor({ exporter: spans })
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [processor] }))
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 })
const meterProvider = new MeterProvider({ readers: [reader] })
const tracer = trace.getTracer('test')

afterAll(async () => {
  await meterProvider.shutdown()
  contextManager.disable()
})
beforeEach(() => spans.reset())

const SECRET = 'sk-live-4f9a8b7c6d5e'

async function client() {
  const haldir = createHaldir({ backend: withTelemetry(memoryBackend(), { meterProvider }) })
  const session = await haldir.createSession({ agentId: 'researcher', scopes: ['search'], spendLimit: 0.05 })
  return { haldir, session }
}

// The SDK exports a span asynchronously after it ends.
async function finished(): Promise<ReadableSpan[]> {
  await processor.forceFlush()
  return spans.getFinishedSpans()
}
const byName = async (name: string): Promise<ReadableSpan[]> => (await finished()).filter((span) => span.name === name)
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId

async function sums(): Promise<Map<string, SumMetricData>> {
  await reader.forceFlush()
  const exported = metricExporter.getMetrics().at(-1)
  const found = new Map<string, SumMetricData>()
  for (const scope of exported?.scopeMetrics ?? []) for (const metric of scope.metrics) found.set(metric.descriptor.name, metric as SumMetricData)
  return found
}

describe('withTelemetry', () => {
  it('makes the gate and the settle children of the active span, with GenAI and haldir attributes', async () => {
    const { haldir, session } = await client()
    const search = createGovernor<{ query: string }, string>({ haldir, sessionId: session.id, scope: 'search', auditName: 'web_search', cost: 0.01 })
    await tracer.startActiveSpan('execute_tool web_search', async (toolSpan) => {
      await search({ query: 'otel' }, () => 'found')
      toolSpan.end()
    })
    const [tool] = await byName('execute_tool web_search')
    const [gate] = await byName('haldir.gate')
    const [settle] = await byName('haldir.settle')
    expect(tool && gate && settle).toBeTruthy()
    expect(parentOf(gate as ReadableSpan)).toBe(tool?.spanContext().spanId)
    expect(parentOf(settle as ReadableSpan)).toBe(tool?.spanContext().spanId)
    expect(gate?.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'web_search',
      'haldir.session.id': session.id,
      'haldir.agent.id': 'researcher',
      'haldir.tool': 'web_search',
      'haldir.scope': 'search',
      'haldir.mode': 'reserve',
      'haldir.decision': 'allowed',
      'haldir.cost.reserved_micros': 10_000,
    })
    expect(gate?.attributes['haldir.hold.id']).toBe(settle?.attributes['haldir.hold.id'])
    expect(gate?.status.code).toBe(SpanStatusCode.UNSET)
    const trail = await haldir.getAuditTrail({ sessionId: session.id })
    expect(settle?.attributes).toMatchObject({
      'gen_ai.tool.name': 'web_search',
      'haldir.cost.charged_micros': 10_000,
      'haldir.outcome': 'ok',
      'haldir.audit.entry_id': trail.entries.at(-1)?.id,
    })
  })

  it('sets the status of a denied gate to ERROR with the denial code', async () => {
    const { haldir, session } = await client()
    const costly = createGovernor({ haldir, sessionId: session.id, auditName: 'buy', cost: 1, onDenied: 'message' })
    expect(await costly({}, () => 'ran')).toMatch(/^BLOCKED/)
    const [gate] = await byName('haldir.gate')
    expect(gate?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'budget_exceeded' })
    expect(gate?.attributes).toMatchObject({ 'haldir.decision': 'denied', 'haldir.denial.code': 'budget_exceeded' })
    expect(gate?.attributes['haldir.audit.entry_id']).toMatch(/.+/)
    expect(await byName('haldir.settle')).toHaveLength(0)
  })

  it('marks a release after a failed call, and a metered model call with its token usage', async () => {
    const { haldir, session } = await client()
    const failing = createGovernor({ haldir, sessionId: session.id, auditName: 'flaky' })
    await expect(failing({}, () => Promise.reject(new Error(`boom ${SECRET}`)))).rejects.toThrow('boom')
    expect((await byName('haldir.release'))[0]?.attributes).toMatchObject({ 'haldir.outcome': 'error', 'gen_ai.tool.name': 'flaky' })

    const decision = await haldir.gate({ sessionId: session.id, tool: 'gpt-test', action: 'model.call', maxCostUsd: 0.01 })
    if (!decision.allowed) throw decision.error
    await settleModelUsage(decision.hold, { usage: { inputTokens: 120, outputTokens: 30 }, price: { inputPerMTok: 1, outputPerMTok: 2 }, maxCost: 0.01, kind: 'generate' })
    const model = (await byName('haldir.settle')).at(-1)
    expect(model?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 30, 'haldir.tool': 'gpt-test' })
    expect(model?.attributes['gen_ai.tool.name']).toBeUndefined()
  })

  it('counts decisions by outcome and code, and spend by tool', async () => {
    const before = await sums()
    const count = (name: string, match: Record<string, unknown>) =>
      (before.get(name)?.dataPoints ?? []).filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value)).reduce((total, point) => total + point.value, 0)
    const deniedBefore = count(HALDIR_METRICS.decisions, { 'haldir.decision': 'denied', 'haldir.denial.code': 'budget_exceeded' })
    const { haldir, session } = await client()
    const lookup = createGovernor({ haldir, sessionId: session.id, auditName: 'metered_lookup', cost: 0.02, onDenied: 'message' })
    await lookup({}, () => 'a')
    await lookup({}, () => 'b')
    await lookup({}, () => 'c') // 0.06 > 0.05: denied
    await haldir.flush() // the spend is counted when the (deferred) settles land
    const after = await sums()
    const countAfter = (name: string, match: Record<string, unknown>) =>
      (after.get(name)?.dataPoints ?? []).filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value)).reduce((total, point) => total + point.value, 0)
    expect(countAfter(HALDIR_METRICS.decisions, { 'haldir.decision': 'denied', 'haldir.denial.code': 'budget_exceeded' }) - deniedBefore).toBe(1)
    expect(countAfter(HALDIR_METRICS.spend, { 'haldir.tool': 'metered_lookup' })).toBe(40_000)
    expect(after.get(HALDIR_METRICS.gateDuration)).toBeDefined()
  })

  it('never puts a secret or a redacted value on a span or a metric', async () => {
    const { haldir, session } = await client()
    await haldir.storeSecret('stripe', SECRET)
    await haldir.createSession({ agentId: 'reader', scopes: ['search'] })
    const value = await haldir.getSecret('stripe', { sessionId: session.id }).catch(() => SECRET)
    const leaky = createGovernor<{ password: string; note: string }, string>({ haldir, sessionId: session.id, auditName: 'login', cost: 0.001 })
    await leaky({ password: 'hunter2-redacted', note: `uses ${value}` }, () => 'ok')
    await expect(leaky({ password: 'hunter2-redacted', note: SECRET }, () => Promise.reject(new Error(SECRET)))).rejects.toThrow()
    const exported = JSON.stringify({
      spans: (await finished()).map((span) => ({ name: span.name, attributes: span.attributes, status: span.status, events: span.events })),
      metrics: [...(await sums()).values()].map((metric) => metric.dataPoints),
    })
    expect(exported).toContain('login')
    expect(exported).not.toContain(SECRET)
    expect(exported).not.toContain('hunter2')
  })
})
