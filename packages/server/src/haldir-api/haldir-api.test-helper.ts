import { type HaldirBackend, memoryBackend } from '@haldir/core'
import { type ApiKeyRole, apiKeyRoles } from '../api-key-role.ts'
import { apiKeyStore, createApiKey } from '../api-keys.ts'
import { type RunningHaldirServer, type ServeHaldirOptions, serveHaldir } from '../serve-haldir.ts'

export interface Answer<T = Record<string, unknown>> {
  status: number
  body: T
  headers: Headers
}

/** A Haldir server on loopback with one key per role in tenant `acme`, and an admin of tenant `globex`. */
export async function haldirApiServer(options: Partial<ServeHaldirOptions> & { backend?: HaldirBackend } = {}) {
  const keys = Object.fromEntries(apiKeyRoles.map((role) => [role, createApiKey()])) as Record<ApiKeyRole, string>
  const globex = createApiKey()
  const running: RunningHaldirServer = await serveHaldir({
    backend: options.backend ?? memoryBackend(),
    apiKeys: apiKeyStore([...apiKeyRoles.map((role) => ({ tenant: 'acme', role, key: keys[role] })), { tenant: 'globex', role: 'admin' as const, key: globex }]),
    port: 0,
    publishTreeHeadsEveryMs: false,
    ...options,
  })
  /** One request as upstream's clients send it: JSON, the key as a bearer token (or `key: null` for none). */
  async function call<T = Record<string, unknown>>(method: string, path: string, init: { key?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers }
    const key = init.key === undefined ? keys.admin : init.key
    if (key !== null) headers.authorization = `Bearer ${key}`
    const response = await fetch(running.url + path, { method, headers, body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)) })
    const text = await response.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
    return { status: response.status, body: body as T, headers: response.headers }
  }
  return { running, url: running.url, keys, globex, call, close: () => running.close() }
}

export type HaldirApiServer = Awaited<ReturnType<typeof haldirApiServer>>

/** Lowercase hex of a given length. */
export const hex = (length: number) => new RegExp(`^[0-9a-f]{${length}}$`)
/** Upstream's id formats. */
export const ids = { session: /^ses_[A-Za-z0-9_-]{32}$/, entry: /^aud_[A-Za-z0-9_-]{22}$/, authorization: /^auth_[A-Za-z0-9_-]{22}$/, key: /^hld_[A-Za-z0-9_-]{43}$/ }
