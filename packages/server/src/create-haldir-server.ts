import { backendRequestSchemas, BackendError, type HaldirBackend, httpRoutes, parseInput, ValidationError } from '@haldir/core'
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
  const route = (name: keyof typeof httpRoutes) => httpRoutes[name].path
  const tenantOf = (c: Context<Env>) => c.get('tenant')
  const schemas = backendRequestSchemas

  app.post(route('createSession'), async (c) => {
    const request = parseInput(schemas.createSession, await body(c))
    return c.json(await backend.createSession({ tenant: tenantOf(c), ...request }), 201)
  })
  app.get(route('listSessions'), async (c) => {
    if (!backend.listSessions) throw new BackendError({ message: `The ${backend.name} backend cannot list sessions`, status: 501 })
    const request = parseInput(schemas.listSessions, { limit: numberParam(c.req.query('limit')) ?? 100 })
    return c.json(await backend.listSessions({ tenant: tenantOf(c), ...request }))
  })
  app.get(route('getSession'), async (c) => {
    const request = parseInput(schemas.session, { sessionId: c.req.param('sessionId') })
    return c.json(await backend.getSession({ tenant: tenantOf(c), ...request }))
  })
  app.post(route('authorize'), async (c) => {
    const request = parseInput(schemas.authorize, { ...(await body(c)), sessionId: c.req.param('sessionId') })
    return c.json(await backend.authorize({ tenant: tenantOf(c), ...request }))
  })
  app.post(route('settle'), async (c) => {
    const request = parseInput(schemas.settle, { ...(await body(c)), sessionId: c.req.param('sessionId'), holdId: c.req.param('holdId') })
    return c.json(await backend.settle({ tenant: tenantOf(c), ...request }))
  })
  app.post(route('appendAudit'), async (c) => {
    const request = parseInput(schemas.appendAudit, { ...(await body(c)), sessionId: c.req.param('sessionId') })
    return c.json(await backend.appendAudit({ tenant: tenantOf(c), ...request }), 201)
  })
  app.get(route('getSpend'), async (c) => {
    const request = parseInput(schemas.session, { sessionId: c.req.param('sessionId') })
    return c.json(await backend.getSpend({ tenant: tenantOf(c), ...request }))
  })
  app.get(route('verifyAudit'), async (c) => {
    const request = parseInput(schemas.session, { sessionId: c.req.param('sessionId') })
    return c.json(await backend.verifyAudit({ tenant: tenantOf(c), ...request }))
  })
  app.post(route('revokeSession'), async (c) => {
    const request = parseInput(schemas.revokeSession, { reason: null, ...(await body(c)), sessionId: c.req.param('sessionId') })
    return c.json(await backend.revokeSession({ tenant: tenantOf(c), ...request }))
  })
  app.get(route('queryAudit'), async (c) => {
    const query = c.req.query()
    const request = parseInput(schemas.queryAudit, {
      sessionId: query.sessionId ?? null,
      agentId: query.agentId ?? null,
      outcome: query.outcome ?? null,
      flagged: query.flagged === undefined ? null : query.flagged === 'true' ? true : query.flagged === 'false' ? false : query.flagged,
      limit: numberParam(query.limit) ?? 1000,
      offset: numberParam(query.offset) ?? 0,
    })
    if (request.sessionId === null && request.agentId === null) {
      throw new ValidationError({ issues: [{ path: 'query', message: 'give a sessionId or an agentId' }] })
    }
    return c.json(await backend.queryAudit({ tenant: tenantOf(c), ...request }))
  })
  app.put(route('putSecret'), async (c) => {
    const request = parseInput(schemas.putSecret, { scopeRequired: null, ...(await body(c)), name: c.req.param('name') })
    await backend.putSecret({ tenant: tenantOf(c), ...request })
    return c.json({ ok: true })
  })
  app.post(route('readSecret'), async (c) => {
    const request = parseInput(schemas.readSecret, { ...(await body(c)), name: c.req.param('name') })
    return c.json({ value: await backend.readSecret({ tenant: tenantOf(c), ...request }) })
  })
  return app
}

function numberParam(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  return value.trim() !== '' && Number.isFinite(number) ? number : value
}
