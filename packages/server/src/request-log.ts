import { trace } from '@opentelemetry/api'
import type { MiddlewareHandler } from 'hono'
import type { ServerEnv } from './server-env.ts'

/** One request as the server logs it: identifiers and numbers, never a body, a query or a key. */
export interface RequestLogLine {
  time: string
  requestId: string
  /** The API key's tenant; `null` before (or without) authentication. */
  tenant: string | null
  method: string
  /** The route's pattern (`/native/sessions/:sessionId`), not the path: ids stay out of logs. */
  route: string
  status: number
  durationMs: number
  /** The request's trace, when OpenTelemetry traces it: the log line and the spans correlate. */
  traceId?: string
}

/**
 * Writes one JSON line per request once it is answered (`X-Request-Id` is the id the client sent,
 * if well-formed, else a fresh one; it is echoed on the answer).
 */
export function requestLog(write: (line: string) => void): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    const started = performance.now()
    try {
      await next()
    } finally {
      const spanContext = trace.getActiveSpan()?.spanContext()
      const line: RequestLogLine = {
        time: new Date().toISOString(),
        requestId: c.get('requestId'),
        tenant: c.get('identity')?.tenant ?? null,
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        ...(spanContext && trace.isSpanContextValid(spanContext) ? { traceId: spanContext.traceId } : {}),
      }
      write(JSON.stringify(line))
    }
  }
}
