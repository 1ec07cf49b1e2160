import { BackendError } from '@haldir/core'
import type { Context, MiddlewareHandler } from 'hono'
import type { ApiKeyIdentity, ApiKeyStore } from './api-keys.ts'
import { clientAddress } from './client-address.ts'
import { type RateLimit, type RateLimitState, rateLimitHeaders } from './rate-limits.ts'
import type { ServerEnv } from './server-env.ts'

export interface AuthenticateOptions {
  apiKeys: ApiKeyStore
  /** Requests per key (`null`: no limit). */
  perKey: RateLimit | null
  /** Failed authentications per client address (`null`: no limit). */
  failedAuth: RateLimit | null
  /** Reverse proxies in front of the server whose `X-Forwarded-For` entries are trusted. */
  trustProxyHops: number
  /** Called for every authenticated request (the tenant's usage counts it). */
  onAuthenticated?: (identity: ApiKeyIdentity) => void
}

/**
 * Bearer API keys, with both rate limits, in the order that leaks least: an address past its
 * failed-authentication limit is refused before its key is even looked at; a bad key counts
 * against its address (401, or 429 once over); a good key counts against the key (429 once
 * over, and `X-RateLimit-*` headers on every answer). The key's identity (tenant, role, key id)
 * is handed on as `identity`.
 */
export function authenticate({ apiKeys, perKey, failedAuth, trustProxyHops, onAuthenticated }: AuthenticateOptions): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    const address = clientAddress(c, trustProxyHops)
    if (failedAuth) {
      const standing = await limiterCall(() => failedAuth.peek(address))
      if (standing && !standing.allowed) return refuse(c, standing, 'failed_auth')
    }
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')
    const identity = match ? apiKeys.authenticate(match[1] as string) : null
    if (identity === null) {
      if (failedAuth) {
        const standing = await limiterCall(() => failedAuth.consume(address))
        if (!standing.allowed) return refuse(c, standing, 'failed_auth')
      }
      c.header('WWW-Authenticate', 'Bearer')
      return c.json({ error: { code: 'unauthorized', message: match ? 'Unknown API key' : 'Missing bearer API key', data: {} } }, 401)
    }
    const refused = await countAgainstKey(c, perKey, identity.keyId, 1)
    if (refused) return refused
    onAuthenticated?.(identity)
    c.set('identity', identity)
    await next()
  }
}

/**
 * Counts `points` requests against the key's limit and sets its `X-RateLimit-*` headers; the
 * 429 answer when the key is over it (`null`: go on). A batch counts its items past the first
 * with this after it is read.
 */
export async function countAgainstKey(c: Context<ServerEnv>, perKey: RateLimit | null, keyId: string, points: number): Promise<Response | null> {
  if (!perKey || points <= 0) return null
  const standing = await limiterCall(() => perKey.consume(keyId, points))
  if (!standing.allowed) return refuse(c, standing, 'key')
  for (const [name, value] of Object.entries(rateLimitHeaders(standing))) c.header(name, value)
  return null
}

function refuse(c: Context<ServerEnv>, standing: RateLimitState, resource: 'key' | 'failed_auth') {
  const headers = rateLimitHeaders(standing)
  for (const [name, value] of Object.entries(headers)) c.header(name, value)
  const retryAfterSeconds = Number(headers['Retry-After'])
  const message =
    resource === 'key'
      ? `Rate limit exceeded: ${standing.limit} requests per window for this API key; retry in ${retryAfterSeconds} s`
      : `Too many failed authentications from this address; retry in ${retryAfterSeconds} s`
  return c.json({ error: { code: 'rate_limit_exceeded', message, data: { limit: standing.limit, retryAfterSeconds, resource } } }, 429)
}

/** A rate-limit store that fails (Redis down …) fails the request closed, as a 503. */
async function limiterCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw new BackendError({ message: `The rate-limit store failed: ${error instanceof Error ? error.message : String(error)}`, cause: error })
  }
}
