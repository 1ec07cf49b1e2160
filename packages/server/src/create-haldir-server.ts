import { readFileSync } from 'node:fs'
import { BackendError, decodeQuery, ForbiddenError, type HaldirBackend, type HttpOperation, type HttpRoute, httpRoutes, NATIVE_API_PREFIX, parseInput, ValidationError, type WebhookStore } from '@haldir/core/backend'
import { type Context, Hono } from 'hono'
import { requestId } from 'hono/request-id'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { type ApiKeyIdentity, type ApiKeyStore, combineKeyStores } from './api-keys.ts'
import { authenticate, countAgainstKey } from './authenticate.ts'
import { mountDashboard } from './dashboard/mount-dashboard.ts'
import { errorResponse } from './error-response.ts'
import { mountEventStream } from './event-stream.ts'
import { failureLog } from './failure-log.ts'
import { finishRequestBody } from './finish-request-body.ts'
import { haldirApiAuth } from './haldir-api/haldir-api-auth.ts'
import { idempotencyStore } from './haldir-api/idempotency-store.ts'
import { mountHaldirApi } from './haldir-api/mount-haldir-api.ts'
import { type McpUpstreamAllowance, proxyRegistry } from './haldir-api/proxy-registry.ts'
import { readJson } from './haldir-api/read-json.ts'
import { usageCounter } from './haldir-api/usage-counter.ts'
import { mountJwks } from './jwks-route.ts'
import { type KeyRegistry, keyRegistry } from './key-registry.ts'
import { mountLedgerExport } from './ledger-export-route.ts'
import { mountMetrics } from './metrics-route.ts'
import { prometheusMetrics } from './prometheus-metrics.ts'
import { createRateLimit, defaultRateLimits, type RateLimitOptions } from './rate-limits.ts'
import { readBody } from './read-body.ts'
import { readinessProbe } from './readiness-probe.ts'
import { requestLog } from './request-log.ts'
import { stdoutLines } from './stdout-lines.ts'
import { rejectUnknownOptions } from './reject-unknown-options.ts'
import { authorizeRole } from './route-roles.ts'
import type { ServeHaldirOptions } from './serve-haldir.ts'
import { apiSecurityHeaders } from './security-headers.ts'
import type { ServerEnv } from './server-env.ts'
import { traceContext } from './trace-context.ts'
import { withTelemetry } from '@haldir/core/otel'
import { memoryWebhookStore } from './webhooks/memory-webhook-store.ts'
import { type WebhookDeliveryOptions, webhookDispatcher } from './webhooks/webhook-dispatcher.ts'
import { webhookRegistry } from './webhooks/webhook-registry.ts'
import { mountNativeWebhooks } from './webhooks/mount-native-webhooks.ts'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

export interface HaldirServerOptions {
  /** The stateful backend behind the API (memory, PostgreSQL …). */
  backend: HaldirBackend
  /** Who may call, as which tenant and with which role (the configured keys). */
  apiKeys: ApiKeyStore
  /**
   * Where keys minted through the Haldir API (`POST /v1/keys`, `POST /v1/demo/key`) are kept:
   * `keyRegistry({ file })` to keep them across restarts. @default keyRegistry() (this process only)
   */
  keyRegistry?: KeyRegistry
  /**
   * Lets `POST /v1/keys` without a key create a new tenant and its first (admin) key, when the
   * body's `bootstrap_token` equals this. Unset: a new tenant is never created through the API.
   * @default undefined
   */
  bootstrapToken?: string
  /** `POST /v1/demo/key` mints a key of a fresh `demo_…` tenant for anyone (10 per address and hour). @default false */
  demoKeys?: boolean
  /**
   * The MCP servers tenants may register as proxy upstreams (`POST /v1/proxy/upstreams`): a URL
   * each, matched exactly, with headers the server sends it. No other URL is ever fetched.
   * Needs `@haldir/mcp` installed. @default []
   */
  mcpUpstreams?: readonly (string | McpUpstreamAllowance)[]
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
  /** Serve the dashboard at `/` (its API under `/dashboard/api`, signed in with a key into a cookie). @default true */
  dashboard?: boolean
  /** Where failures are reported (once per burst). @default console.error */
  log?: (message: string, error?: unknown) => void
  /** `GET /metrics` in the Prometheus text format, for admin and auditor keys (each sees its tenant). @default true */
  metrics?: boolean
  /** One JSON line per request (id, tenant, route, status, duration; never bodies or keys): `true` writes to stdout. @default false */
  requestLog?: boolean | ((line: string) => void)
  /** Signed webhooks (`/v1/webhooks`): where they are kept and how they are sent (see {@link WebhookOptions}). */
  webhooks?: WebhookOptions
}

/** How the server keeps and sends signed webhooks. */
export interface WebhookOptions extends WebhookDeliveryOptions {
  /**
   * Where webhooks, their outbox and the delivery log are kept. @default the backend's own when
   * it has one (`postgresBackend().webhookStore()`: deliveries survive a restart), else
   * `memoryWebhookStore()` (this process only)
   */
  store?: WebhookStore
}

/** A backend that keeps webhooks itself (the PostgreSQL backend does). */
function ownWebhookStore(backend: HaldirBackend): WebhookStore | null {
  const candidate = backend as HaldirBackend & { webhookStore?: unknown }
  return typeof candidate.webhookStore === 'function' ? (candidate.webhookStore as () => WebhookStore)() : null
}

const serverOptionNames = [
  'backend',
  'apiKeys',
  'keyRegistry',
  'bootstrapToken',
  'demoKeys',
  'mcpUpstreams',
  'maxBodyBytes',
  'bodyTimeoutMs',
  'rateLimits',
  'trustProxyHops',
  'dashboard',
  'log',
  'metrics',
  'requestLog',
  'webhooks',
] as const satisfies readonly (keyof HaldirServerOptions)[]
// What `serveHaldir` adds; it hands its options on whole.
const serveOptionNames = ['port', 'hostname', 'shutdownTimeoutMs', 'headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'publishTreeHeadsEveryMs'] as const satisfies readonly Exclude<
  keyof ServeHaldirOptions,
  keyof HaldirServerOptions
>[]

const closers = new WeakMap<object, () => Promise<void>>()

/** Releases what a server made with `createHaldirServer` holds beside its backend (the MCP proxy's upstream connections). `serveHaldir().close()` calls it. */
export async function closeHaldirServer(app: Hono<ServerEnv>): Promise<void> {
  await closers.get(app)?.()
}

/**
 * The Haldir server as a Hono app, speaking two APIs over one backend and one set of keys:
 *
 * - the **Haldir API** (upstream Haldir's REST API, `/v1/…`, `HALDIR-API.md`), for upstream's
 *   SDKs and integrations, with our semantics underneath (`mountHaldirApi`);
 * - the **native API** under `/native` (`httpRoutes`, which `httpBackend` builds its requests
 *   from): one handler per backend operation, bodies validated with the core schemas, errors as
 *   `{ error: { code, message, data } }`.
 *
 * Both: API keys mapped to a tenant and a role (`routeRoles`, `haldirApiRoles`), rate limits per
 * key and per client address, bodies size- and time-limited, security headers and an
 * `X-Request-Id` on every answer, `/healthz` (alive), `/readyz` (the backend answers), the
 * streamed ledger export and, without a key, the tree-head keys at `/.well-known/jwks.json`.
 * Mount it anywhere Hono runs, or start it with `serveHaldir()`.
 */
export function createHaldirServer(options: HaldirServerOptions): Hono<ServerEnv> {
  rejectUnknownOptions(options, [...serverOptionNames, ...serveOptionNames], 'options')
  if (options.rateLimits) rejectUnknownOptions(options.rateLimits, ['perKey', 'failedAuth'], 'options.rateLimits')
  // Spans (a no-op until an OpenTelemetry SDK is registered) and Prometheus counters around the backend.
  const metrics = options.metrics === false ? null : prometheusMetrics(withTelemetry(options.backend))
  const backend = metrics?.backend ?? withTelemetry(options.backend)
  const failures = failureLog({ log: options.log ?? console.error })
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000
  const trustProxyHops = options.trustProxyHops ?? 0
  if (!Number.isSafeInteger(trustProxyHops) || trustProxyHops < 0) throw new ValidationError({ issues: [{ path: 'trustProxyHops', message: 'must be a whole number ≥ 0' }] })
  if (options.bootstrapToken !== undefined && (typeof options.bootstrapToken !== 'string' || options.bootstrapToken.length < 16)) {
    throw new ValidationError({ issues: [{ path: 'bootstrapToken', message: 'must be a string of at least 16 characters (it creates tenants)' }] })
  }
  const registry = options.keyRegistry ?? keyRegistry()
  const apiKeys = combineKeyStores(options.apiKeys, registry)
  const perKey = createRateLimit(options.rateLimits?.perKey, defaultRateLimits.perKey, 'rateLimits.perKey')
  const failedAuth = createRateLimit(options.rateLimits?.failedAuth, defaultRateLimits.failedAuth, 'rateLimits.failedAuth')
  const usage = usageCounter()
  const webhookOptions = options.webhooks ?? {}
  rejectUnknownOptions(webhookOptions, ['store', 'allowPrivateTargets', 'timeoutMs', 'retryDelaysMs', 'pollIntervalMs', 'concurrency'], 'options.webhooks')
  checkWebhookOptions(webhookOptions)
  const webhookStore = webhookOptions.store ?? ownWebhookStore(backend) ?? memoryWebhookStore()
  const dispatcher = webhookDispatcher({ ...webhookOptions, backend, store: webhookStore, failures })
  const webhooks = webhookRegistry({ store: webhookStore, dispatcher, allowPrivateTargets: webhookOptions.allowPrivateTargets ?? false })
  // Every event arises from a tenant's request to this server (a decision, a sweep, a timeout
  // decided when read): listening from a tenant's first request on misses none, and needs no
  // database read at startup.
  const onAuthenticated = (identity: ApiKeyIdentity) => {
    usage.record(identity.tenant)
    dispatcher.watch(identity.tenant)
  }
  const guard = authenticate({ apiKeys, perKey, failedAuth, trustProxyHops, onAuthenticated })
  const proxies = proxyRegistry({
    backend,
    allowed: (options.mcpUpstreams ?? []).map((upstream) => (typeof upstream === 'string' ? { url: upstream } : upstream)),
    log: (line) => (options.log ?? console.error)(`haldir server: ${line}`),
  })
  const ready = readinessProbe(backend)
  const app = new Hono<ServerEnv>()
  closers.set(app, async () => {
    await dispatcher.close()
    await proxies.close()
  })

  // An inbound X-Request-Id (trimmed by the Headers API, at most 64 characters of [A-Za-z0-9_=-])
  // is kept, any other replaced by a fresh UUID; either way it is echoed on every answer.
  app.use(requestId({ limitLength: 64 }))
  app.use(traceContext())
  const writeLog = options.requestLog === true ? stdoutLines().write : options.requestLog || null
  if (writeLog) app.use(requestLog(writeLog))
  app.use(apiSecurityHeaders())
  app.use(finishRequestBody())

  app.onError((error, c) => {
    const { status, body, headers } = errorResponse(error, failures, c.get('requestId'))
    for (const [name, value] of Object.entries(headers)) c.header(name, value)
    return c.json(body, status as ContentfulStatusCode)
  })
  app.notFound((c) => {
    if (c.req.path.startsWith(`${NATIVE_API_PREFIX}/`)) return c.json({ error: { code: 'not_found', message: `No route ${c.req.method} ${c.req.path}`, data: {} } }, 404)
    // Everything else is the Haldir API's ground: upstream's coded 404.
    return c.json({ error: 'not found', code: 'not_found', request_id: c.get('requestId') }, 404)
  })

  // Ready: the backend answers; a load balancer routes around a server whose database is gone.
  app.get('/readyz', async (c) => {
    const probe = await ready()
    if (probe.ready) return c.json({ ok: true, backend: backend.name })
    failures.backend(probe.error, c.get('requestId'))
    return c.json({ ok: false, backend: backend.name, error: { code: 'backend_error', message: 'The backend does not answer', data: {} } }, 503)
  })
  mountJwks(app, backend)
  mountLedgerExport(app, { backend, guard, refuseNarrowedKey })
  if (metrics) mountMetrics(app, { guard, metrics })

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

  mountEventStream(app, { backend, guard })
  if (options.dashboard ?? true) mountDashboard(app, { backend, apiKeys, registry, perKey, guard, refuseNarrowedKey })
  mountNativeWebhooks(app, { webhooks, guard, refuseNarrowedKey, body })

  // One handler per route of the shared table (the client builds its requests from the same
  // table): authenticate and rate-limit, refuse a role the route does not allow (before the body
  // is read), read and validate, check grants that depend on the request, then call the backend.
  for (const [operation, route] of Object.entries(httpRoutes) as [HttpOperation, HttpRoute][]) {
    app.on(route.method, route.path, guard, async (c) => {
      const identity = c.get('identity')
      refuseNarrowedKey(identity, operation)
      authorizeRole(identity.role, operation)
      const method = backend[operation] as ((request: Record<string, unknown>) => Promise<unknown>) | undefined
      if (!method) throw new BackendError({ message: `The ${backend.name} backend does not support ${operation}`, status: 501 })
      const input = route.input.in === 'body' ? await body(c) : decodeQuery(route.input.fields, c.req.query())
      const params = Object.fromEntries(route.params.map((name) => [name, c.req.param(name)]))
      const request = parseInput(route.schema, { ...route.defaults, ...input, ...params }) as Record<string, unknown>
      authorizeRole(identity.role, operation, request)
      if (route.countsItemsOf !== undefined) {
        // The request itself was counted when it was authenticated; each further item is one more.
        const more = (request[route.countsItemsOf] as unknown[]).length - 1
        const refused = await countAgainstKey(c, perKey, identity.keyId, more)
        if (refused) return refused
        if (more > 0) usage.record(identity.tenant, more)
      }
      const answer = await method.call(backend, { ...request, tenant: identity.tenant })
      return c.json(route.answer === 'value' ? { value: answer } : route.answer === 'ok' ? { ok: true } : answer, route.status)
    })
  }

  mountHaldirApi(app, {
    backend,
    // It counts usage itself.
    auth: haldirApiAuth({ apiKeys, perKey, failedAuth, trustProxyHops, usage, onAuthenticated: (identity) => dispatcher.watch(identity.tenant) }),
    apiKeys,
    registry,
    idempotency: idempotencyStore(),
    usage,
    proxies,
    failures,
    readJson: (c) => readJson(c, { maxBytes: maxBodyBytes, timeoutMs: bodyTimeoutMs }),
    bootstrapToken: options.bootstrapToken ?? null,
    demoKeys: options.demoKeys ?? false,
    version,
    trustProxyHops,
    webhooks,
  })
  return app
}

/**
 * A key minted with narrowed upstream key scopes (`audit:read` …) is for the Haldir API, whose
 * routes name key scopes; the native API's routes do not, so such a key is refused there rather
 * than acting with its whole role.
 */
function refuseNarrowedKey(identity: ApiKeyIdentity, operation: string): void {
  if (identity.scopes !== undefined && !identity.scopes.includes('*')) {
    throw new ForbiddenError({
      role: identity.role,
      operation,
      message: `This API key is limited to the Haldir API key scopes ${identity.scopes.join(', ')}; the native API needs a key with every scope of its role`,
    })
  }
}

/** Refuses webhook timings that would never send or never stop, before the server starts. */
function checkWebhookOptions(options: WebhookOptions): void {
  const whole = (value: unknown, path: string, min: number) => {
    if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < min)) throw new ValidationError({ issues: [{ path: `webhooks.${path}`, message: `must be a whole number ≥ ${min}` }] })
  }
  whole(options.timeoutMs, 'timeoutMs', 1)
  whole(options.pollIntervalMs, 'pollIntervalMs', 10)
  whole(options.concurrency, 'concurrency', 1)
  if (options.retryDelaysMs !== undefined) {
    if (!Array.isArray(options.retryDelaysMs) || options.retryDelaysMs.length > 20) throw new ValidationError({ issues: [{ path: 'webhooks.retryDelaysMs', message: 'must be a list of at most 20 waits' }] })
    options.retryDelaysMs.forEach((delay, index) => whole(delay, `retryDelaysMs.${index}`, 0))
  }
  if (options.allowPrivateTargets !== undefined && typeof options.allowPrivateTargets !== 'boolean') throw new ValidationError({ issues: [{ path: 'webhooks.allowPrivateTargets', message: 'must be a boolean' }] })
}
