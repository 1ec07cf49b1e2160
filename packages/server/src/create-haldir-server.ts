import { BackendError, decodeQuery, type HaldirBackend, type HttpOperation, type HttpRoute, httpRoutes, parseInput, ValidationError } from '@haldir/core/backend'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ApiKeyStore } from './api-keys.ts'
import { dashboardHtml } from './dashboard-html.ts'
import { errorResponse } from './error-response.ts'

export interface HaldirServerOptions {
  /** The stateful backend behind the API (memory, PostgreSQL …). */
  backend: HaldirBackend
  /** Who may call, and as which tenant. */
  apiKeys: ApiKeyStore
  /** Largest accepted request body, in bytes. @default 1_048_576 */
  maxBodyBytes?: number
  /** Serve the audit dashboard at `/`. @default true */
  dashboard?: boolean
  /** Where unexpected errors are reported. @default console.error */
  log?: (message: string, error: unknown) => void
}

type Env = { Variables: { tenant: string } }

/**
 * The Haldir HTTP API as a Hono app: every backend operation under `/v1` (routes shared with
 * `httpBackend` in `httpRoutes`), bearer API keys mapped to tenants, bodies validated with the
 * core schemas and size-limited, errors as `{ error: { code, message } }`. Mount it anywhere
 * Hono runs, or start it with `serveHaldir()`.
 */
export function createHaldirServer(options: HaldirServerOptions): Hono<Env> {
  const { backend, apiKeys } = options
  const log = options.log ?? console.error
  const app = new Hono<Env>()

  const fail = (c: Context, error: unknown) => {
    const { status, body } = errorResponse(error, log)
    return c.json(body, status as ContentfulStatusCode)
  }

  app.onError((error, c) => fail(c, error))
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route ${c.req.method} ${c.req.path}` } }, 404))

  app.get('/healthz', (c) => c.json({ ok: true, backend: backend.name }))
  if (options.dashboard ?? true) app.get('/', (c) => c.html(dashboardHtml))

  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 1_048_576,
      onError: (c) => c.json({ error: { code: 'payload_too_large', message: `Request body over ${options.maxBodyBytes ?? 1_048_576} bytes` } }, 413),
    }),
  )
  app.use('/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    const tenant = match ? apiKeys.authenticate(match[1] as string) : null
    if (tenant === null) {
      c.header('www-authenticate', 'Bearer')
      return c.json({ error: { code: 'unauthorized', message: match ? 'Unknown API key' : 'Missing bearer API key' } }, 401)
    }
    c.set('tenant', tenant)
    await next()
  })

  const body = async (c: Context): Promise<Record<string, unknown>> => {
    let json: unknown
    try {
      json = await c.req.json()
    } catch (error) {
      throw new ValidationError({ message: 'Request body is not valid JSON', issues: [{ path: 'body', message: 'malformed JSON' }], cause: error })
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new ValidationError({ issues: [{ path: 'body', message: 'must be a JSON object' }] })
    }
    return json as Record<string, unknown>
  }

  // One handler per route of the shared table: the client builds its requests from the same table.
  for (const [operation, route] of Object.entries(httpRoutes) as [HttpOperation, HttpRoute][]) {
    app.on(route.method, route.path, async (c) => {
      const method = backend[operation] as ((request: Record<string, unknown>) => Promise<unknown>) | undefined
      if (!method) throw new BackendError({ message: `The ${backend.name} backend does not support ${operation}`, status: 501 })
      const input = route.input.in === 'body' ? await body(c) : decodeQuery(route.input.fields, c.req.query())
      const params = Object.fromEntries(route.params.map((name) => [name, c.req.param(name)]))
      const request = parseInput(route.schema, { ...route.defaults, ...input, ...params }) as Record<string, unknown>
      const answer = await method.call(backend, { ...request, tenant: c.get('tenant') })
      return c.json(route.answer === 'value' ? { value: answer } : route.answer === 'ok' ? { ok: true } : answer, route.status)
    })
  }
  return app
}
