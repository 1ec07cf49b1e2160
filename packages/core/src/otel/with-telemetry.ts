import {
  type Attributes,
  context,
  type MeterProvider,
  metrics,
  propagation,
  type Span,
  SpanStatusCode,
  trace,
  type TracerProvider,
} from '@opentelemetry/api'
import type { AuditEntry } from '../audit/audit-entry.ts'
import type { AuthorizeRequest, AuthorizeResult, CreateSessionRequest, HaldirBackend, SessionRecord, SessionRequest, SettleRequest, SettleResult } from '../backend/haldir-backend.ts'
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
  const decisions = meter.createCounter(HALDIR_METRICS.decisions, { description: 'Gate decisions, by decision and denial code' })
  const spend = meter.createCounter(HALDIR_METRICS.spend, { description: 'Money charged, in micro-dollars, by tool', unit: '{microdollar}' })
  const gateDuration = meter.createHistogram(HALDIR_METRICS.gateDuration, { description: 'How long the gate took to decide', unit: 's' })
  const agents = new RecentMap<string, string>(KNOWN_AGENTS)

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
    if (span.isRecording()) span.setAttributes(requestAttributes(request, agents.get(request.sessionId)))
    return context.with(trace.setSpan(context.active(), span), () => backend.authorize(request)).then(
      (result) => {
        rememberEntry(result.entry)
        const decision = result.allowed ? 'allowed' : result.code === 'approval_pending' ? 'pending' : 'denied'
        const code = result.allowed ? undefined : result.code
        decisions.add(1, code === undefined ? { [ATTRIBUTE.decision]: decision, [ATTRIBUTE.mode]: request.mode } : { [ATTRIBUTE.decision]: decision, [ATTRIBUTE.mode]: request.mode, [ATTRIBUTE.denialCode]: code })
        gateDuration.record((performance.now() - started) / 1000, { [ATTRIBUTE.decision]: decision, [ATTRIBUTE.mode]: request.mode })
        if (result.allowed && request.mode === 'charge' && request.amountMicros > 0) spend.add(request.amountMicros, { [ATTRIBUTE.tool]: request.tool })
        if (span.isRecording()) describeResult(span, result, decision, agents.get(request.sessionId))
        span.end()
        return result
      },
      (error: unknown) => fail(span, error),
    )
  }

  function settle(request: SettleRequest): Promise<SettleResult> {
    const closing = request.outcome === 'error' || request.action === 'release' ? 'release' : 'settle'
    const span = tracer.startSpan(`haldir.${closing}`)
    if (span.isRecording()) span.setAttributes(settleAttributes(request, agents.get(request.sessionId)))
    return context.with(trace.setSpan(context.active(), span), () => backend.settle(request)).then(
      (result) => {
        rememberEntry(result.entry)
        if (result.chargedMicros > 0) spend.add(result.chargedMicros, { [ATTRIBUTE.tool]: result.entry.tool })
        if (span.isRecording()) {
          const entry = result.entry
          span.setAttributes({
            [ATTRIBUTE.costChargedMicros]: result.chargedMicros,
            [ATTRIBUTE.auditEntryId]: entry.id,
            [ATTRIBUTE.agentId]: entry.agentId,
            [ATTRIBUTE.tool]: entry.tool,
            ...(request.action === MODEL_CALL_ACTION ? {} : { [ATTRIBUTE.genAiToolName]: entry.tool }),
          })
        }
        span.end()
        return result
      },
      (error: unknown) => fail(span, error),
    )
  }

  // The other operations pass through (the prototype), the two above and the session readers
  // that tell which agent a session is (for `haldir.agent.id`) are overridden.
  // (Defined, not assigned: a frozen backend's own methods are read-only.)
  return Object.create(backend, {
    authorize: { value: authorize },
    settle: { value: settle },
    createSession: { value: (request: CreateSessionRequest) => backend.createSession(request).then(rememberSession) },
    getSession: { value: (request: SessionRequest) => backend.getSession(request).then(rememberSession) },
  }) as HaldirBackend
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

function describeResult(span: Span, result: AuthorizeResult, decision: string, agentId: string | undefined): void {
  span.setAttribute(ATTRIBUTE.decision, decision)
  if (agentId !== undefined) span.setAttribute(ATTRIBUTE.agentId, agentId)
  if (result.allowed) {
    if (result.holdId !== null) span.setAttribute(ATTRIBUTE.holdId, result.holdId)
  } else {
    span.setAttribute(ATTRIBUTE.denialCode, result.code)
    if (result.approval !== undefined) {
      span.setAttribute(ATTRIBUTE.approvalId, result.approval.id)
      span.setAttribute(ATTRIBUTE.holdId, result.approval.holdId)
    } else {
      // The code, not the reason: a status message is exported like any attribute.
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.code })
    }
  }
  if (result.entry) span.setAttribute(ATTRIBUTE.auditEntryId, result.entry.id)
}

function fail(span: Span, error: unknown): never {
  // A code or a class name only: an error's message can carry whatever the failing call held.
  const type = HaldirError.isInstance(error) ? error.code : error instanceof Error ? error.name : 'unknown'
  span.setAttribute(ATTRIBUTE.errorType, type)
  span.setStatus({ code: SpanStatusCode.ERROR, message: type })
  span.end()
  throw error
}
