import { BackendError, decodeQuery, type HaldirBackend, type HttpOperation, type HttpRoute, httpRoutes, parseInput, ValidationError } from '@haldir/core/backend'
import { type Context, Hono } from 'hono'
import { requestId } from 'hono/request-id'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ApiKeyStore } from './api-keys.ts'
import { authenticate } from './authenticate.ts'
import { mountDashboard } from './dashboard.ts'
import { errorResponse } from './error-response.ts'
import { failureLog } from './failure-log.ts'
import { finishRequestBody } from './finish-request-body.ts'
import { mountJwks } from './jwks-route.ts'
import { mountLedgerExport } from './ledger-export-route.ts'
import { createRateLimit, defaultRateLimits, type RateLimitOptions } from './rate-limits.ts'
import { readBody } from './read-body.ts'
import { readinessProbe } from './readiness-probe.ts'
import { rejectUnknownOptions } from './reject-unknown-options.ts'
import { authorizeRole } from './route-roles.ts'
import type { ServeHaldirOptions } from './serve-haldir.ts'
import { apiSecurityHeaders } from './security-headers.ts'
import type { ServerEnv } from './server-env.ts'

export interface HaldirServerOptions {
  /** The stateful backend behind the API (memory, PostgreSQL …). */
  backend: HaldirBackend
  /** Who may call, as which tenant and with which role. */
  apiKeys: ApiKeyStore
  /** Largest accepted request body, in bytes. @default 1_048_576 */
  maxBodyBytes?: number
  /** How long a request body may take to arrive; a slower client gets a 408 and its connection closed. @default 10_000 */
  bodyTimeoutMs?: number
  /** Requests per API key and failed authentications per client address (see {@link RateLimitOptions}). */
  rateLimits?: RateLimitOptions
  /**
   * Reverse proxies in front of the server: the client address (for the failed-authentication
   * limit) is then read from that many entries from the right of `X-Forwarded-For`. Leave 0
   * unless a proxy you run sets it, or clients could pick their own address. @default 0
   */
  trustProxyHops?: number
  /** Serve the audit dashboard at `/`. @default true */
  dashboard?: boolean
  /** Where failures are reported (once per burst). @default console.error */
  log?: (message: string, error?: unknown) => void
}

const serverOptionNames = ['backend', 'apiKeys', 'maxBodyBytes', 'bodyTimeoutMs', 'rateLimits', 'trustProxyHops', 'dashboard', 'log'] as const satisfies readonly (keyof HaldirServerOptions)[]
// What `serveHaldir` adds; it hands its options on whole.
const serveOptionNames = ['port', 'hostname', 'shutdownTimeoutMs', 'headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'publishTreeHeadsEveryMs'] as const satisfies readonly Exclude<keyof ServeHaldirOptions, keyof HaldirServerOptions>[]

/**
 * The Haldir HTTP API as a Hono app: every backend operation of the shared route table
 * (`httpRoutes`, which `httpBackend` builds its requests from), bearer API keys mapped to a
 * tenant and a role (`routeRoles` says which role may call what), rate limits per key and per
 * client address, bodies size- and time-limited and validated with the core schemas, errors as
 * `{ error: { code, message, data } }`, security headers and an `X-Request-Id` on every answer,
 * `/healthz` (alive) and `/readyz` (the backend answers); the streamed ledger export and, without
 * a key, the tree-head signing keys at `/.well-known/jwks.json`. Mount it anywhere Hono runs, or start
 * it with `serveHaldir()`.
 */
export function createHaldirServer(options: HaldirServerOptions): Hono<ServerEnv> {
  rejectUnknownOptions(options, [...serverOptionNames, ...serveOptionNames], 'options')
  if (options.rateLimits) rejectUnknownOptions(options.rateLimits, ['perKey', 'failedAuth'], 'options.rateLimits')
  const { backend, apiKeys } = options
  const failures = failureLog({ log: options.log ?? console.error })
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000
  const trustProxyHops = options.trustProxyHops ?? 0
  if (!Number.isSafeInteger(trustProxyHops) || trustProxyHops < 0) throw new ValidationError({ issues: [{ path: 'trustProxyHops', message: 'must be a whole number ≥ 0' }] })
  const guard = authenticate({
    apiKeys,
    perKey: createRateLimit(options.rateLimits?.perKey, defaultRateLimits.perKey, 'rateLimits.perKey'),
    failedAuth: createRateLimit(options.rateLimits?.failedAuth, defaultRateLimits.failedAuth, 'rateLimits.failedAuth'),
    trustProxyHops,
  })
  const ready = readinessProbe(backend)
  const app = new Hono<ServerEnv>()

  // An inbound X-Request-Id (trimmed by the Headers API, at most 64 characters of [A-Za-z0-9_=-])
  // is kept, any other replaced by a fresh UUID; either way it is echoed on every answer.
  app.use(requestId({ limitLength: 64 }))
  app.use(apiSecurityHeaders())
  app.use(finishRequestBody())

  app.onError((error, c) => {
    const { status, body, headers } = errorResponse(error, failures, c.get('requestId'))
    for (const [name, value] of Object.entries(headers)) c.header(name, value)
    return c.json(body, status as ContentfulStatusCode)
  })
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route ${c.req.method} ${c.req.path}`, data: {} } }, 404))

  // Alive: answers without touching the backend (a restart would not fix a slow database).
  app.get('/healthz', (c) => c.json({ ok: true, backend: backend.name }))
  // Ready: the backend answers; a load balancer routes around a server whose database is gone.
  app.get('/readyz', async (c) => {
    const probe = await ready()
    if (probe.ready) return c.json({ ok: true, backend: backend.name })
    failures.backend(probe.error, c.get('requestId'))
    return c.json({ ok: false, backend: backend.name, error: { code: 'backend_error', message: 'The backend does not answer', data: {} } }, 503)
  })
  if (options.dashboard ?? true) mountDashboard(app)
  mountJwks(app, backend)
  mountLedgerExport(app, { backend, guard })

  const body = async (c: Context<ServerEnv>): Promise<Record<string, unknown>> => {
    const bytes = await readBody(c, { maxBytes: maxBodyBytes, timeoutMs: bodyTimeoutMs })
    let json: unknown
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch (error) {
      throw new ValidationError({ message: 'Request body is not valid JSON', issues: [{ path: 'body', message: 'malformed JSON' }], cause: error })
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new ValidationError({ issues: [{ path: 'body', message: 'must be a JSON object' }] })
    }
    return json as Record<string, unknown>
  }

  // One handler per route of the shared table (the client builds its requests from the same
  // table): authenticate and rate-limit, refuse a role the route does not allow (before the body
  // is read), read and validate, check grants that depend on the request, then call the backend.
  for (const [operation, route] of Object.entries(httpRoutes) as [HttpOperation, HttpRoute][]) {
    app.on(route.method, route.path, guard, async (c) => {
      const { tenant, role } = c.get('identity')
      authorizeRole(role, operation)
      const method = backend[operation] as ((request: Record<string, unknown>) => Promise<unknown>) | undefined
      if (!method) throw new BackendError({ message: `The ${backend.name} backend does not support ${operation}`, status: 501 })
      const input = route.input.in === 'body' ? await body(c) : decodeQuery(route.input.fields, c.req.query())
      const params = Object.fromEntries(route.params.map((name) => [name, c.req.param(name)]))
      const request = parseInput(route.schema, { ...route.defaults, ...input, ...params }) as Record<string, unknown>
      authorizeRole(role, operation, request)
      const answer = await method.call(backend, { ...request, tenant })
      return c.json(route.answer === 'value' ? { value: answer } : route.answer === 'ok' ? { ok: true } : answer, route.status)
    })
  }
  return app
}
