import { defaultTransport } from '#default-transport'
import { type AuthorizeManyRequest, type AuthorizeManyResult, type AuthorizeRequest, type AuthorizeResult, BACKEND_CONTRACT_VERSION, type HaldirBackend, MAX_AUTHORIZE_BATCH, MAX_SETTLE_BATCH, type SettleManyRequest, type SettleManyResult } from '../backend/haldir-backend.ts'
import { BackendError } from '../errors/backend-error.ts'
import { NotFoundError } from '../errors/not-found-error.ts'
import { errorFromJson } from '../errors/error-from-json.ts'
import { toErrorJson } from '../errors/to-error-json.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { errorMessage } from '../internal/error-message.ts'
import { type HttpOperation, httpRoutes } from './http-routes.ts'
import { readEnv } from '../internal/read-env.ts'
import { fetchTransport } from './http-transport.ts'
import { traceCarrier, withTraceHeaders } from '../internal/trace-headers.ts'
import { subscribeEvents } from './subscribe-events.ts'
import { type GateBatchOptions, gateBatcher } from './gate-batcher.ts'
import { checkOptionKeys } from '../internal/check-option-keys.ts'

export interface HttpBackendOptions {
  /** Base URL of a Haldir server, e.g. `http://127.0.0.1:8787`. */
  url: string
  /** `hld_…`: decides the tenant server-side. @default process.env.HALDIR_API_KEY */
  apiKey?: string
  /** A `fetch` of your own (tests count round trips with it, proxies inject headers). @default on Node `node:http` with keep-alive, elsewhere the global `fetch` */
  fetch?: typeof fetch
  /** Per-request timeout. @default 10_000 */
  timeoutMs?: number
  /** Retries after a network failure or a 502/503/504, only for requests that are safe to repeat. @default 2 */
  retries?: number
  /**
   * Gates of concurrent callers travel together: while a gate request is under way, new gates
   * wait for the end of the event loop's turn and go in one request
   * (`POST /native/v1/authorizations`); `false` sends every gate alone. A lone caller's gate is
   * never delayed. @default { inFlight: 1, maxSize: 100 }
   */
  gateBatch?: GateBatchOptions | false
}

/** Bytes of settles (or gates) per request, well under the server's default body limit (1 MiB). */
const BATCH_BYTES = 512 * 1024

/**
 * A backend that forwards every operation to a Haldir server (`@haldir/server`), which runs a
 * stateful backend. No dependencies beyond `fetch`. A governed call waits for one round trip
 * (authorize); its settle travels later with others (`settleMany`), and under load the gates of
 * concurrent callers travel together too (`authorizeMany`, see `gateBatch`). Requests are retried only where a repeat cannot double-charge or
 * double-audit (the route table says which): reads, `authorize` with an idempotency key, and
 * `settle` (idempotent per hold). The one exception is a request the server never read: sent on
 * a pooled keep-alive socket the server had already closed, it is sent again on a fresh socket
 * whatever the operation (see `nodeTransport`). A key whose role does not allow an operation
 * gets a `ForbiddenError`; a 429 is a `BackendError` with code `rate_limit_exceeded`.
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
  const apiKey = options.apiKey ?? readEnv('HALDIR_API_KEY')
  if (!apiKey) throw new ValidationError({ issues: [{ path: 'apiKey', message: 'is required (or set HALDIR_API_KEY)' }] })
  const transport = options.fetch ? fetchTransport(options.fetch) : defaultTransport()
  const timeoutMs = options.timeoutMs ?? 10_000
  const retries = options.retries ?? 2
  const origin = base.href.replace(/\/$/, '')
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json' }

  /** `trace`: the caller's trace context taken earlier, `null` for none; by default the active one. */
  async function call(operation: HttpOperation, request: Record<string, unknown>, rawBody?: string, trace?: Record<string, string> | null): Promise<unknown> {
    const route = httpRoutes[operation]
    // The tenant is the API key's, decided by the server; it never travels.
    const { tenant: _tenant, ...members } = request
    let path = route.path
    for (const name of route.params) {
      path = path.replace(`:${name}`, encodeURIComponent(String(members[name])))
      delete members[name]
    }
    let url = origin + path
    let body: string | undefined
    if (route.input.in === 'body') {
      body = rawBody ?? JSON.stringify(members)
    } else {
      const search = new URLSearchParams()
      for (const [name, value] of Object.entries(members)) if (value !== null && value !== undefined) search.set(name, String(value))
      if (search.size > 0) url += `?${search}`
    }
    const what = `${route.method} ${path}`
    const safe = route.retry === 'always' || (route.retry === 'with-idempotency-key' && members.idempotencyKey !== null && members.idempotencyKey !== undefined)
    for (let attempt = 0; ; attempt++) {
      let response: { status: number; text: string }
      try {
        // The caller's trace continues on the server (W3C `traceparent`), when OpenTelemetry is in use.
        const sent = trace === undefined ? withTraceHeaders(headers) : trace === null ? headers : { ...headers, ...trace }
        response = await transport({ method: route.method, url, headers: sent, body, timeoutMs })
      } catch (error) {
        if (safe && attempt < retries) {
          await backoff(attempt)
          continue
        }
        throw new BackendError({ message: `Haldir server at ${origin} unreachable (${what}): ${errorMessage(error)}`, cause: error })
      }
      if (response.status >= 200 && response.status < 300) {
        const json = parseBody(response, what)
        return route.answer === 'value' ? (json as { value: unknown }).value : route.answer === 'ok' ? undefined : json
      }
      if (safe && attempt < retries && (response.status === 502 || response.status === 503 || response.status === 504)) {
        await backoff(attempt)
        continue
      }
      throw toError(response, what)
    }
  }

  const backend: Record<string, unknown> = { contractVersion: BACKEND_CONTRACT_VERSION, name: 'http' }
  for (const operation of Object.keys(httpRoutes) as HttpOperation[]) backend[operation] = (request: Record<string, unknown>) => call(operation, request)
  // Settles travel in requests of at most BATCH_BYTES (the server refuses bodies past its
  // limit, 1 MiB by default): each serialised once, then packed.
  backend.settleMany = async (request: SettleManyRequest): Promise<SettleManyResult> => {
    const chunks = packed(request.settles, MAX_SETTLE_BATCH)
    const answers = await Promise.all(chunks.map((chunk) => call('settleMany', {}, `{"settles":[${chunk.join(',')}]}`) as Promise<SettleManyResult>))
    return { results: answers.flatMap((answer) => answer.results) }
  }
  // Gates too, each item without a tenant (the key's); a batch is never repeated after a failure.
  backend.authorizeMany = async (request: AuthorizeManyRequest): Promise<AuthorizeManyResult> => {
    const chunks = packed(
      request.authorizations.map(({ tenant: _tenant, ...item }: Omit<AuthorizeRequest, 'tenant'> & { tenant?: string }) => item),
      MAX_AUTHORIZE_BATCH,
    )
    // Many callers' gates: the request belongs to none of their traces (each has its own gate span).
    const answers = await Promise.allSettled(chunks.map((chunk) => call('authorizeMany', {}, `{"authorizations":[${chunk.join(',')}]}`, null) as Promise<AuthorizeManyResult>))
    const missing = answers.find((answer) => answer.status === 'rejected' && isMissingRoute(answer.reason))
    if (missing) throw (missing as PromiseRejectedResult).reason
    // A request that failed fails its own gates only: the other requests' gates were decided.
    return { results: answers.flatMap((answer, index) => (answer.status === 'fulfilled' ? answer.value.results : (chunks[index] as string[]).map(() => ({ ok: false as const, error: toErrorJson(answer.reason) })))) }
  }
  const gateBatch = gateBatchOf(options.gateBatch)
  if (gateBatch) {
    const one = (request: AuthorizeRequest, trace?: Record<string, string> | null) => call('authorize', request as unknown as Record<string, unknown>, undefined, trace) as Promise<AuthorizeResult>
    const many = backend.authorizeMany as (request: AuthorizeManyRequest) => Promise<AuthorizeManyResult>
    backend.authorize = gateBatcher({
      ...gateBatch,
      one,
      // The tenant travels with no request (the key decides it).
      many: async (requests) => (await many({ tenant: '', authorizations: requests })).results,
      trace: traceCarrier,
      isMissingRoute,
    })
  }
  // The server's event stream: one connection per subscriber (the tenant is the key's).
  backend.subscribe = (_request: { tenant: string }, listener: Parameters<NonNullable<HaldirBackend['subscribe']>>[1]) =>
    subscribeEvents({ origin, apiKey, fetch: options.fetch ?? globalThis.fetch }, listener)
  return backend as unknown as HaldirBackend
}

/** Our server's own 404 for a route it does not have (an older server): nothing was decided. */
function isMissingRoute(error: unknown): boolean {
  return NotFoundError.isInstance(error) && error.resource === 'route'
}

/** Serialises each item once and packs them into requests of at most `maxItems` and BATCH_BYTES. */
function packed(items: readonly unknown[], maxItems: number): string[][] {
  const chunks: string[][] = [[]]
  let size = 0
  for (const item of items) {
    const text = JSON.stringify(item)
    let chunk = chunks[chunks.length - 1] as string[]
    if (chunk.length > 0 && (size + text.length > BATCH_BYTES || chunk.length >= maxItems)) {
      chunks.push((chunk = []))
      size = 0
    }
    chunk.push(text)
    size += text.length + 1
  }
  return chunks
}

function gateBatchOf(setting: GateBatchOptions | false | undefined): { inFlight: number; maxSize: number } | null {
  if (setting === false) return null
  checkOptionKeys(setting, ['inFlight', 'maxSize'], 'gateBatch')
  const inFlight = setting?.inFlight ?? 1
  const maxSize = setting?.maxSize ?? 100
  const issues = []
  if (!Number.isSafeInteger(inFlight) || inFlight < 1) issues.push({ path: 'gateBatch.inFlight', message: 'must be a whole number ≥ 1' })
  if (!Number.isSafeInteger(maxSize) || maxSize < 1 || maxSize > MAX_AUTHORIZE_BATCH) issues.push({ path: 'gateBatch.maxSize', message: `must be a whole number from 1 to ${MAX_AUTHORIZE_BATCH}` })
  if (issues.length > 0) throw new ValidationError({ issues })
  return { inFlight, maxSize }
}

function parseBody(response: { status: number; text: string }, what: string): unknown {
  try {
    return JSON.parse(response.text) as unknown
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
