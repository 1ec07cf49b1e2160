import { createGovernor, createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import { withTelemetry } from '@haldir/core/otel'
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const exporter = new InMemorySpanExporter()
const processor = new SimpleSpanProcessor({ exporter })
const contextManager = new AsyncLocalStorageContextManager().enable()
context.setGlobalContextManager(contextManager)
propagation.setGlobalPropagator(new W3CTraceContextPropagator())
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [processor] }))

const SECRET = 'pg-pass-7Hq2Lz9Xw4'
const adminKey = createApiKey()
const agentKey = createApiKey()
const logLines: string[] = []
let running: RunningHaldirServer

beforeAll(async () => {
  running = await serveHaldir({
    backend: memoryBackend(),
    apiKeys: apiKeyStore([
      { tenant: 'acme', role: 'admin', key: adminKey },
      { tenant: 'acme', role: 'agent', key: agentKey },
    ]),
    port: 0,
    publishTreeHeadsEveryMs: false,
    requestLog: (line) => logLines.push(line),
  })
})
afterAll(async () => {
  await running.close()
  contextManager.disable()
})

async function finished(): Promise<ReadableSpan[]> {
  await processor.forceFlush()
  return exporter.getFinishedSpans()
}

describe('trace context across httpBackend and the server', () => {
  it('makes the server’s request and gate spans children of the client’s gate span, in one trace', async () => {
    exporter.reset()
    const haldir = createHaldir({ backend: withTelemetry(httpBackend({ url: running.url, apiKey: agentKey })) })
    const session = await haldir.createSession({ agentId: 'remote', scopes: ['search'], spendLimit: 0.015 })
    const search = createGovernor({ haldir, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.01, onDenied: 'message' })
    await trace.getTracer('app').startActiveSpan('agent step', async (step) => {
      await search({ query: 'a' }, () => 'ok')
      await search({ query: 'b' }, () => 'never') // 0.02 > 0.015: denied on the server
      await haldir.flush() // the first call's settle, deferred, lands inside the step
      step.end()
    })
    const spans = await finished()
    const [step] = spans.filter((span) => span.name === 'agent step')
    const traceId = step?.spanContext().traceId
    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]))
    const parent = (span: ReadableSpan | undefined) => byId.get(span?.parentSpanContext?.spanId ?? '')

    // Client: gate, settle, gate (denied), each a child of the step.
    const clientGates = spans.filter((span) => span.name === 'haldir.gate' && parent(span) === step)
    expect(clientGates).toHaveLength(2)
    // Server: a request span per remote call, a child of the client span that made the call.
    const serverAuthorize = spans.filter((span) => span.kind === SpanKind.SERVER && span.name === 'POST /native/v1/sessions/:sessionId/authorize')
    expect(serverAuthorize).toHaveLength(2)
    for (const [index, request] of serverAuthorize.entries()) {
      expect(request.spanContext().traceId).toBe(traceId)
      expect(parent(request)).toBe(clientGates[index])
      expect(request.attributes).toMatchObject({ 'http.route': '/native/v1/sessions/:sessionId/authorize', 'haldir.tenant': 'acme' })
      // The server's own gate span (its withTelemetry), under its request span.
      const serverGate = spans.find((span) => span.name === 'haldir.gate' && parent(span) === request)
      expect(serverGate?.attributes['haldir.session.id']).toBe(session.id)
    }
    const serverSettle = spans.find((span) => span.kind === SpanKind.SERVER && span.name === 'POST /native/v1/sessions/:sessionId/holds/:holdId/settle')
    expect(parent(parent(serverSettle))?.name).toBe('agent step')
    // The denial is an error on both sides of the wire.
    const deniedGates = spans.filter((span) => span.name === 'haldir.gate' && span.attributes['haldir.decision'] === 'denied')
    expect(deniedGates).toHaveLength(2)
    for (const span of deniedGates) expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'budget_exceeded' })
    // The request log line carries the trace id.
    const authorizeLine = logLines.map((line) => JSON.parse(line) as { route: string; traceId?: string }).find((line) => line.route === '/native/v1/sessions/:sessionId/authorize')
    expect(authorizeLine?.traceId).toBe(traceId)
  })

  it('never puts a secret, a redacted argument or a key on a span or a log line', async () => {
    exporter.reset()
    const admin = createHaldir({ backend: withTelemetry(httpBackend({ url: running.url, apiKey: adminKey })) })
    const haldir = createHaldir({ backend: withTelemetry(httpBackend({ url: running.url, apiKey: agentKey })) })
    await admin.storeSecret('db', SECRET, { scopeRequired: 'db' })
    const session = await haldir.createSession({ agentId: 'dba', scopes: ['db'], spendLimit: 1 })
    const value = await haldir.getSecret('db', { sessionId: session.id })
    expect(value).toBe(SECRET)
    const query = createGovernor<{ password: string; sql: string }, string>({ haldir, sessionId: session.id, scope: 'db', auditName: 'query', cost: 0.001 })
    await query({ password: 'hunter2-redacted', sql: `connect with ${value}` }, () => 'rows')
    await expect(query({ password: 'hunter2-redacted', sql: 'x' }, () => Promise.reject(new Error(`auth failed for ${SECRET}`)))).rejects.toThrow()
    const exported = JSON.stringify((await finished()).map((span) => ({ name: span.name, attributes: span.attributes, status: span.status, events: span.events })))
    expect(exported).toContain('query')
    const logs = logLines.join('\n')
    expect(logs).toContain('/secrets/')
    for (const text of [exported, logs]) {
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain('hunter2')
      expect(text).not.toContain(adminKey)
      expect(text).not.toContain(agentKey)
    }
  })

  it('keeps each waiting gate in its own caller’s trace when it goes alone, and puts a batch of many callers’ gates in none of them', async () => {
    exporter.reset()
    const haldir = createHaldir({ backend: withTelemetry(httpBackend({ url: running.url, apiKey: agentKey, gateBatch: { inFlight: 1, maxSize: 1 } })) })
    const session = await haldir.createSession({ agentId: 'crowd', scopes: ['search'], spendLimit: 1 })
    const tracer = trace.getTracer('app')
    // maxSize 1: every gate goes alone, two of them after waiting behind the first.
    const steps = await Promise.all(
      ['one', 'two', 'three'].map((name) =>
        tracer.startActiveSpan(`step ${name}`, async (step) => {
          await haldir.reserve(session.id, 0.01, { tool: 'search' })
          step.end()
          return step.spanContext().traceId
        }),
      ),
    )
    const spans = await finished()
    const requests = spans.filter((span) => span.kind === SpanKind.SERVER && span.name === 'POST /native/v1/sessions/:sessionId/authorize')
    expect(requests.map((span) => span.spanContext().traceId).sort()).toEqual([...steps].sort())

    exporter.reset()
    const together = createHaldir({ backend: withTelemetry(httpBackend({ url: running.url, apiKey: agentKey, gateBatch: { inFlight: 1 } })) })
    const traces = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) =>
        tracer.startActiveSpan(`step ${name}`, async (step) => {
          await together.reserve(session.id, 0.01, { tool: 'search' })
          step.end()
          return step.spanContext().traceId
        }),
      ),
    )
    const batch = (await finished()).filter((span) => span.kind === SpanKind.SERVER && span.name === 'POST /native/v1/authorizations')
    expect(batch).toHaveLength(1)
    // Its own trace, none of the four callers' whose gates it carried.
    expect(traces).not.toContain(batch[0]?.spanContext().traceId)
    expect(batch[0]?.parentSpanContext).toBeUndefined()
    await Promise.all([haldir.close(), together.close()])
  })
})
