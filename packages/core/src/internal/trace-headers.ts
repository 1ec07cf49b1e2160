/**
 * Adds the active trace context (`traceparent`, `tracestate`) to a remote call's headers, once
 * something registered an injector. `@haldir/core/otel` registers one over
 * `@opentelemetry/api`'s propagation API; the client path itself never imports it (it is an
 * optional peer), so without OpenTelemetry this is one null check per request.
 */
let injector: ((carrier: Record<string, string>) => void) | null = null

/** Installs the function that writes trace headers into a carrier (the last one wins). */
export function setTraceInjector(inject: (carrier: Record<string, string>) => void): void {
  injector = inject
}

/** The headers with the active trace context added, or the same object when there is none. */
export function withTraceHeaders(headers: Record<string, string>): Record<string, string> {
  if (injector === null) return headers
  const carrier: Record<string, string> = {}
  injector(carrier)
  // No active span: nothing was written and the shared headers are used as they are.
  for (const _name in carrier) return { ...headers, ...carrier }
  return headers
}

/**
 * The active trace context as headers, to send later from another context (a gate that waited
 * in a batcher's queue); `null` when there is none.
 */
export function traceCarrier(): Record<string, string> | null {
  if (injector === null) return null
  const carrier: Record<string, string> = {}
  injector(carrier)
  for (const _name in carrier) return carrier
  return null
}
