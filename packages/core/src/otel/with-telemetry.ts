import {
  type Attributes,
  context,
  type Meter,
  type MeterProvider,
  metrics,
  propagation,
  type Span,
  SpanStatusCode,
  trace,
  type TracerProvider,
} from '@opentelemetry/api'
import type { AuditEntry } from '../audit/audit-entry.ts'
import { authorizeEach } from '../backend/each-outcome.ts'
import type { AuthorizeRequest, AuthorizeResult, CreateSessionRequest, HaldirBackend, SessionRecord, SessionRequest, SettleManyRequest, SettleManyResult, SettleRequest, SettleResult } from '../backend/haldir-backend.ts'
import { HaldirError } from '../errors/haldir-error.ts'
import { checkOptionKeys } from '../internal/check-option-keys.ts'
import { RecentMap } from '../internal/recent-map.ts'
import { setTraceInjector } from '../internal/trace-headers.ts'
import { MODEL_CALL_ACTION } from '../settle-model-usage.ts'
import { HALDIR_ATTRIBUTES as ATTRIBUTE, HALDIR_METRICS } from './haldir-attributes.ts'

export interface TelemetryOptions {
  /** Where spans go. @default the global provider (`trace.setGlobalTracerProvider`, or an SDK's `register()`) */
  tracerProvider?: TracerProvider
  /** Where metrics go; read once, so register a global one before calling. @default the global provider */
  meterProvider?: MeterProvider
}

const TELEMETRY_OPTIONS = ['tracerProvider', 'meterProvider'] as const
const SCOPE_NAME = '@haldir/core'
// Sessions whose agent this client saw (a gate's request names only the session).
const KNOWN_AGENTS = 10_000

/**
 * Wraps a backend so that every gate, settle and release (and so every governed tool call and
 * metered model call) is an OpenTelemetry span, a child of the span active at the call (the
 * framework's tool or model span), and counted in metrics: decisions by outcome and denial
 * code, spend in micro-dollars by tool, gate latency. A denial sets the span's status to
 * `ERROR` with its code. Attributes carry identifiers, names, codes and amounts only, never
 * details or reasons, so no argument or secret reaches a span.
 *
 * The governor is untouched: this is the same backend contract around the same backend. With
 * no OpenTelemetry SDK registered, the API's no-op tracer and meter make it cost next to
 * nothing. It also makes `httpBackend` (of any client in the process) send the active trace
 * context, so a remote gate continues the caller's trace on the server.
 *
 * @example
 * import { createHaldir, memoryBackend } from '@haldir/core'
 * import { withTelemetry } from '@haldir/core/otel'
 *
 * const haldir = createHaldir({ backend: withTelemetry(memoryBackend()) })
 */
export function withTelemetry(backend: HaldirBackend, options: TelemetryOptions = {}): HaldirBackend {
  checkOptionKeys(options, TELEMETRY_OPTIONS)
  setTraceInjector(injectActiveContext)
  const tracer = (options.tracerProvider ?? trace).getTracer(SCOPE_NAME)
  const meter = (options.meterProvider ?? metrics).getMeter(SCOPE_NAME)
  const { countDecision, addSpend } = countersOf(meter)
  const gateDuration = meter.createHistogram(HALDIR_METRICS.gateDuration, { description: 'How long the gate took to decide', unit: 's' })
  const agents = new RecentMap<string, string>(KNOWN_AGENTS)
  // The memory backend makes no request and runs no query: nothing it does can start a span.
  const nests = backend.name !== 'memory'

  const rememberSession = (record: SessionRecord): SessionRecord => {
    agents.set(record.id, record.agentId)
    return record
  }
  const rememberEntry = (entry: AuditEntry | null | undefined): void => {
    if (entry) agents.set(entry.sessionId, entry.agentId)
  }

  function authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    const started = performance.now()
    const span = tracer.startSpan(`haldir.${request.mode === 'reserve' ? 'gate' : request.mode}`)
    return inside(span, nests, () => backend.authorize(request)).then(
      (result) => {
        rememberEntry(result.entry)
        const decision = result.allowed ? 'allowed' : result.code === 'approval_pending' ? 'pending' : 'denied'
        const code = result.allowed ? undefined : result.code
        countDecision(decision, request.mode, code)
        // No attributes: the split by decision is the counter's, and each attribute set costs a hash per record.
        gateDuration.record((performance.now() - started) / 1000)
        if (result.allowed && request.mode === 'charge' && request.amountMicros > 0) addSpend(request.tool, request.amountMicros)
        if (span.isRecording()) describeGate(span, request, result, decision, agents.get(request.sessionId))
        span.end()
        return result
      },
      (error: unknown) => fail(span, error, () => requestAttributes(request, agents.get(request.sessionId))),
    )
  }

  function settle(request: SettleRequest): Promise<SettleResult> {
    const closing = request.outcome === 'error' || request.action === 'release' ? 'release' : 'settle'
    const span = tracer.startSpan(`haldir.${closing}`)
    return inside(span, nests, () => backend.settle(request)).then(
      (result) => {
        rememberEntry(result.entry)
        if (result.chargedMicros > 0) addSpend(result.entry.tool, result.chargedMicros)
        if (span.isRecording()) {
          const { entry } = result
          const attributes = settleAttributes(request, entry.agentId)
          attributes[ATTRIBUTE.costChargedMicros] = result.chargedMicros
          attributes[ATTRIBUTE.auditEntryId] = entry.id
          attributes[ATTRIBUTE.tool] = entry.tool
          if (request.action !== MODEL_CALL_ACTION) attributes[ATTRIBUTE.genAiToolName] = entry.tool
          span.setAttributes(attributes)
        }
        span.end()
        return result
      },
      (error: unknown) => fail(span, error, () => settleAttributes(request, agents.get(request.sessionId))),
    )
  }

  /**
   * A client's deferred settles, many per request: one span for the request (the settles'
   * own spans would each need the context of a call that has long returned); each landed
   * settle counts its spend as `settle` does.
   */
  function settleMany(request: SettleManyRequest): Promise<SettleManyResult> {
    const span = tracer.startSpan('haldir.settle_batch')
    return inside(span, nests, () => (backend.settleMany as NonNullable<HaldirBackend['settleMany']>)(request)).then(
      (answer) => {
        let failed = 0
        for (const outcome of answer.results) {
          if (!outcome.ok) {
            failed++
            continue
          }
          rememberEntry(outcome.entry)
          if (outcome.chargedMicros > 0) addSpend(outcome.entry.tool, outcome.chargedMicros)
        }
        if (span.isRecording()) span.setAttributes({ [ATTRIBUTE.settleCount]: request.settles.length, [ATTRIBUTE.settleFailed]: failed, [ATTRIBUTE.tenant]: request.tenant })
        if (failed > 0) span.setStatus({ code: SpanStatusCode.ERROR, message: `${failed} of ${request.settles.length} settles refused` })
        span.end()
        return answer
      },
      (error: unknown) => fail(span, error, () => ({ [ATTRIBUTE.settleCount]: request.settles.length, [ATTRIBUTE.tenant]: request.tenant })),
    )
  }

  // The other operations pass through (the prototype), the gate and settle ones above and the session readers
  // that tell which agent a session is (for `haldir.agent.id`) are overridden.
  // (Defined, not assigned: a frozen backend's own methods are read-only.)
  return Object.create(backend, {
    authorize: { value: authorize },
    settle: { value: settle },
    ...(backend.settleMany ? { settleMany: { value: settleMany } } : {}),
    // A batch of gates is each gate through `authorize` above: a gate span and counts per gate
    // (which any backend can serve, with or without a batch operation of its own).
    authorizeMany: { value: authorizeEach(authorize) },
    createSession: { value: (request: CreateSessionRequest) => backend.createSession(request).then(rememberSession) },
    getSession: { value: (request: SessionRequest) => backend.getSession(request).then(rememberSession) },
  }) as HaldirBackend
}

interface Counters {
  countDecision(decision: string, mode: string, code: string | undefined): void
  addSpend(tool: string, micros: number): void
}

// One set of counts per meter, shared by every wrapped backend of the process: an observable
// counter's callbacks each report a total, and two clients reporting the same attributes would
// overwrite each other rather than add up.
const countersByMeter = new WeakMap<Meter, Counters>()

/**
 * Decisions and spend are counted here and observed at each collection: a Map increment per call,
 * where a synchronous counter would hash its attributes on every add (the hot path of every
 * governed call).
 */
function countersOf(meter: Meter): Counters {
  const known = countersByMeter.get(meter)
  if (known) return known
  const decisions = new Map<string, { attributes: Attributes; count: number }>()
  const spendByTool = new Map<string, number>()
  meter
    .createObservableCounter(HALDIR_METRICS.decisions, { description: 'Gate decisions, by decision, denial code and mode' })
    .addCallback((result) => {
      for (const { attributes, count } of decisions.values()) result.observe(count, attributes)
    })
  meter
    .createObservableCounter(HALDIR_METRICS.spend, { description: 'Money charged, in micro-dollars, by tool', unit: '{microdollar}' })
    .addCallback((result) => {
      for (const [tool, micros] of spendByTool) result.observe(micros, { [ATTRIBUTE.tool]: tool })
    })
  const counters: Counters = {
    countDecision(decision, mode, code) {
      const key = `${decision}\u0000${mode}\u0000${code ?? ''}`
      const counted = decisions.get(key)
      if (counted) counted.count++
      else {
        const attributes: Attributes = { [ATTRIBUTE.decision]: decision, [ATTRIBUTE.mode]: mode }
        if (code !== undefined) attributes[ATTRIBUTE.denialCode] = code
        decisions.set(key, { attributes, count: 1 })
      }
    },
    addSpend: (tool, micros) => void spendByTool.set(tool, (spendByTool.get(tool) ?? 0) + micros),
  }
  countersByMeter.set(meter, counters)
  return counters
}

/**
 * Runs the backend call with the span active, so what the backend does (an HTTP request that
 * sends `traceparent`, a query an instrumentation traces) nests under it. Skipped where nothing
 * could nest (a span that records nothing, a backend in this process's memory): a context switch
 * costs about as much as the span.
 */
function inside<T>(span: Span, nests: boolean, call: () => Promise<T>): Promise<T> {
  return nests && span.isRecording() ? context.with(trace.setSpan(context.active(), span), call) : call()
}

function injectActiveContext(carrier: Record<string, string>): void {
  propagation.inject(context.active(), carrier)
}

function operationOf(action: string): string {
  return action === MODEL_CALL_ACTION ? 'chat' : 'execute_tool'
}

function requestAttributes(request: AuthorizeRequest, agentId: string | undefined): Attributes {
  const attributes: Attributes = {
    [ATTRIBUTE.tenant]: request.tenant,
    [ATTRIBUTE.sessionId]: request.sessionId,
    [ATTRIBUTE.tool]: request.tool,
    [ATTRIBUTE.action]: request.action,
    [ATTRIBUTE.mode]: request.mode,
    [ATTRIBUTE.costReservedMicros]: request.amountMicros,
  }
  if (request.scope !== null) attributes[ATTRIBUTE.scope] = request.scope
  if (agentId !== undefined) attributes[ATTRIBUTE.agentId] = agentId
  // A gate is a governed call (a tool or a model); a payment or a permission check is not a GenAI operation.
  if (request.mode === 'reserve') {
    attributes[ATTRIBUTE.genAiOperationName] = operationOf(request.action)
    if (request.action !== MODEL_CALL_ACTION) attributes[ATTRIBUTE.genAiToolName] = request.tool
  }
  return attributes
}

function settleAttributes(request: SettleRequest, agentId: string | undefined): Attributes {
  const attributes: Attributes = {
    [ATTRIBUTE.tenant]: request.tenant,
    [ATTRIBUTE.sessionId]: request.sessionId,
    [ATTRIBUTE.holdId]: request.holdId,
    [ATTRIBUTE.action]: request.action,
    [ATTRIBUTE.outcome]: request.outcome,
    [ATTRIBUTE.flagged]: request.flagged,
    [ATTRIBUTE.genAiOperationName]: operationOf(request.action),
  }
  if (agentId !== undefined) attributes[ATTRIBUTE.agentId] = agentId
  if (request.action === MODEL_CALL_ACTION) {
    // Only counts: the details of a model call are its token usage, nothing a caller wrote.
    const { inputTokens, outputTokens } = request.details
    if (typeof inputTokens === 'number') attributes[ATTRIBUTE.genAiUsageInputTokens] = inputTokens
    if (typeof outputTokens === 'number') attributes[ATTRIBUTE.genAiUsageOutputTokens] = outputTokens
  }
  return attributes
}

/** Attributes are set once, when the span ends: one pass of the SDK's checks instead of one per call. */
function describeGate(span: Span, request: AuthorizeRequest, result: AuthorizeResult, decision: string, agentId: string | undefined): void {
  const attributes = requestAttributes(request, agentId)
  attributes[ATTRIBUTE.decision] = decision
  if (result.allowed) {
    if (result.holdId !== null) attributes[ATTRIBUTE.holdId] = result.holdId
  } else {
    attributes[ATTRIBUTE.denialCode] = result.code
    if (result.approval !== undefined) {
      attributes[ATTRIBUTE.approvalId] = result.approval.id
      attributes[ATTRIBUTE.holdId] = result.approval.holdId
    } else {
      // The code, not the reason: a status message is exported like any attribute.
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.code })
    }
  }
  if (result.entry) attributes[ATTRIBUTE.auditEntryId] = result.entry.id
  span.setAttributes(attributes)
}

function fail(span: Span, error: unknown, describe: () => Attributes): never {
  // A code or a class name only: an error's message can carry whatever the failing call held.
  const type = HaldirError.isInstance(error) ? error.code : error instanceof Error ? error.name : 'unknown'
  if (span.isRecording()) span.setAttributes({ ...describe(), [ATTRIBUTE.errorType]: type })
  span.setStatus({ code: SpanStatusCode.ERROR, message: type })
  span.end()
  throw error
}
