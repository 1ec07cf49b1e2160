import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { MiddlewareHandler } from 'hono'
import type { ServerEnv } from './server-env.ts'

const tracer = trace.getTracer('@haldir/server')

/**
 * Continues the caller's trace: a W3C `traceparent` (and `tracestate`) on the request makes the
 * request's span (and the gate's, settle's … under it) a child of the caller's span, so a remote
 * gate call through `httpBackend` appears in the agent's trace. Without an OpenTelemetry SDK
 * registered, the API's no-op tracer makes this nearly free. The span is named by the route's
 * pattern (`POST /native/authorize`), never by a path that carries ids.
 */
export function traceContext(): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headersGetter)
    const span = tracer.startSpan(`${c.req.method}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': c.req.method } }, parent)
    try {
      await context.with(trace.setSpan(parent, span), next)
    } finally {
      if (span.isRecording()) {
        const route = c.req.routePath
        span.updateName(`${c.req.method} ${route}`)
        span.setAttributes({ 'http.route': route, 'http.response.status_code': c.res.status, 'haldir.request.id': c.get('requestId') })
        const tenant = c.get('identity')?.tenant
        if (tenant !== undefined) span.setAttribute('haldir.tenant', tenant)
        if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      }
      span.end()
    }
  }
}

const headersGetter = {
  keys: (carrier: Headers) => [...carrier.keys()],
  get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined,
}
