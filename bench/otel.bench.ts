// A governed call on the memory backend with OpenTelemetry off, on without an SDK (the API's
// no-op tracer and meter: what `withTelemetry` costs a process that never registers one), and on
// with the SDK registered (tracer and meter providers, async-hooks context, in-memory exporters),
// in interleaved rounds, medians. Target (issue #19): on ≤ 1.2× off; measured 1.29× at p50 and
// 1.23× mean (a gate span per call, one span per batch of deferred settles: ~3 µs of an 11 µs
// call is the SDK's), no SDK 1.06×.
import { createHaldir, type HaldirBackend, memoryBackend, withHaldir } from '@haldir/core'
import { withTelemetry } from '@haldir/core/otel'
import { context, createNoopMeter, ProxyTracerProvider } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace'
import { interleaved, measure, report } from './measure.ts'

const calls = Number(process.env.BENCH_CALLS ?? 20_000)

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const spans = new InMemorySpanExporter()
// Batched as in production; a queue that holds a round's spans, so none are dropped unexported.
const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: spans, maxQueueSize: 4 * calls, scheduledDelayMillis: 200 })] })
const meterProvider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 1_000 })],
})
const noSdk = { tracerProvider: new ProxyTracerProvider(), meterProvider: { getMeter: () => createNoopMeter() } }

async function round(name: string, wrap: (backend: HaldirBackend) => HaldirBackend) {
  // A fresh backend per round: earlier rounds' trails would fill the tenant's memory quota.
  const haldir = createHaldir({ backend: wrap(memoryBackend({ maxTenantBytes: Number.MAX_SAFE_INTEGER } as never)) })
  const session = await haldir.createSession({ agentId: 'bench', scopes: ['search'], spendLimit: null, ttl: 24 * 3600 })
  const governed = withHaldir(async (query: string) => ({ query, hits: 3 }), { haldir, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.001 })
  const measured = await measure(name, () => governed('haldir'), { calls, warmup: Math.min(2_000, calls) })
  await tracerProvider.forceFlush().catch(() => undefined)
  spans.reset()
  return measured
}

const [off, noop, on] = await interleaved([
  { name: 'telemetry off (plain backend)', run: () => round('telemetry off (plain backend)', (backend) => backend) },
  { name: 'withTelemetry, no SDK registered', run: () => round('withTelemetry, no SDK registered', (backend) => withTelemetry(backend, noSdk)) },
  { name: 'withTelemetry, SDK + in-memory exporters', run: () => round('withTelemetry, SDK + in-memory exporters', (backend) => withTelemetry(backend, { tracerProvider, meterProvider })) },
])
report('otel: governed call (gate + settle spans and metrics), memory backend, interleaved rounds, medians', off as never, [noop as never, on as never])
await meterProvider.shutdown()
await tracerProvider.shutdown()
