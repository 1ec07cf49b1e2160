import type { AuditEntry } from '../audit/audit-entry.ts'
import type { AuditVerification } from '../audit/verify-audit-chain.ts'
import type { AuditPage, AuthorizeResult, HaldirBackend, RevokeResult, SessionRecord, SettleResult, SpendRecord } from '../backend.ts'
import { BackendError } from '../errors/backend-error.ts'
import { errorFromJson } from '../errors/error-from-json.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { errorMessage } from '../internal/error-message.ts'
import { httpRoutes, type HttpOperation } from './http-routes.ts'
import { fetchTransport, nodeTransport } from './http-transport.ts'

export interface HttpBackendOptions {
  /** Base URL of a Haldir server, e.g. `http://127.0.0.1:8787`. */
  url: string
  /** `hld_…`: decides the tenant server-side. @default process.env.HALDIR_API_KEY */
  apiKey?: string
  /** A `fetch` of your own (tests count round trips with it, proxies inject headers). @default node:http with keep-alive */
  fetch?: typeof fetch
  /** Per-request timeout. @default 10_000 */
  timeoutMs?: number
  /** Retries after a network failure or a 502/503/504, only for requests that are safe to repeat. @default 2 */
  retries?: number
}

/**
 * A backend that forwards every operation to a Haldir server (`@haldir/server`), which runs a
 * stateful backend. No dependencies beyond `fetch`. A governed call costs two round trips
 * (authorize, settle). Requests are retried only where a repeat cannot double-charge or
 * double-audit: reads, `authorize` with an idempotency key, and `settle` (idempotent per hold).
 *
 * @example
 * const haldir = createHaldir({ backend: httpBackend({ url: 'http://127.0.0.1:8787', apiKey: process.env.HALDIR_API_KEY }) })
 */
export function httpBackend(options: HttpBackendOptions): HaldirBackend {
  let base: URL
  try {
    base = new URL(options.url)
  } catch (error) {
    throw new ValidationError({ issues: [{ path: 'url', message: `is not a URL (${errorMessage(error)})` }], cause: error })
  }
  const apiKey = options.apiKey ?? process.env.HALDIR_API_KEY
  if (!apiKey) throw new ValidationError({ issues: [{ path: 'apiKey', message: 'is required (or set HALDIR_API_KEY)' }] })
  const transport = options.fetch ? fetchTransport(options.fetch) : nodeTransport()
  const timeoutMs = options.timeoutMs ?? 10_000
  const retries = options.retries ?? 2
  const origin = base.href.replace(/\/$/, '')
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json' }

  async function call<T>(operation: HttpOperation, request: { params?: Record<string, string>; query?: Record<string, string | number | boolean | null>; body?: unknown; retry?: boolean }): Promise<T> {
    const route = httpRoutes[operation]
    let path: string = route.path
    for (const [name, value] of Object.entries(request.params ?? {})) path = path.replace(`:${name}`, encodeURIComponent(value))
    let url = origin + path
    if (request.query) {
      const search = new URLSearchParams()
      for (const [name, value] of Object.entries(request.query)) if (value !== null) search.set(name, String(value))
      url += `?${search}`
    }
    const safe = request.retry ?? route.method === 'GET'
    const body = request.body === undefined ? undefined : JSON.stringify(request.body)
    for (let attempt = 0; ; attempt++) {
      let response: { status: number; text: string }
      try {
        response = await transport({ method: route.method, url, headers, body, timeoutMs })
      } catch (error) {
        if (safe && attempt < retries) {
          await backoff(attempt)
          continue
        }
        throw new BackendError({ message: `Haldir server at ${origin} unreachable (${route.method} ${path}): ${errorMessage(error)}`, cause: error })
      }
      if (response.status >= 200 && response.status < 300) return parseBody<T>(response, `${route.method} ${path}`)
      if (safe && attempt < retries && (response.status === 502 || response.status === 503 || response.status === 504)) {
        await backoff(attempt)
        continue
      }
      throw toError(response, `${route.method} ${path}`)
    }
  }

  return {
    name: 'http',
    createSession: ({ tenant: _tenant, ...body }) => call<SessionRecord>('createSession', { body }),
    getSession: ({ sessionId }) => call<SessionRecord>('getSession', { params: { sessionId } }),
    authorize: ({ tenant: _tenant, sessionId, ...body }) =>
      call<AuthorizeResult>('authorize', { params: { sessionId }, body, retry: body.idempotencyKey !== null }),
    settle: ({ tenant: _tenant, sessionId, holdId, ...body }) => call<SettleResult>('settle', { params: { sessionId, holdId }, body, retry: true }),
    appendAudit: ({ tenant: _tenant, sessionId, ...body }) => call<AuditEntry>('appendAudit', { params: { sessionId }, body }),
    getSpend: ({ sessionId }) => call<SpendRecord>('getSpend', { params: { sessionId } }),
    queryAudit: ({ tenant: _tenant, ...query }) => call<AuditPage>('queryAudit', { query }),
    verifyAudit: ({ sessionId }) => call<AuditVerification>('verifyAudit', { params: { sessionId } }),
    revokeSession: ({ sessionId, reason }) => call<RevokeResult>('revokeSession', { params: { sessionId }, body: { reason }, retry: true }),
    putSecret: async ({ name, value, scopeRequired }) => {
      await call<{ ok: true }>('putSecret', { params: { name }, body: { value, scopeRequired }, retry: true })
    },
    readSecret: async ({ name, sessionId }) => (await call<{ value: string }>('readSecret', { params: { name }, body: { sessionId } })).value,
    listSessions: ({ limit }) => call<SessionRecord[]>('listSessions', { query: { limit } }),
  }
}

function parseBody<T>(response: { status: number; text: string }, what: string): T {
  try {
    return JSON.parse(response.text) as T
  } catch (error) {
    throw new BackendError({ message: `Haldir server sent invalid JSON to ${what}`, status: response.status, cause: error })
  }
}

function toError(response: { status: number; text: string }, what: string) {
  const { text } = response
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const error = (json as { error?: { code?: unknown; message?: unknown; data?: unknown } } | undefined)?.error
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return errorFromJson({ code: error.code, message: error.message, data: (error.data ?? {}) as Record<string, unknown> }, response.status)
  }
  return new BackendError({ message: `Haldir server answered ${response.status} to ${what}: ${text.slice(0, 200)}`, status: response.status })
}

function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt + Math.random() * 25))
}
