import { BackendError } from '@haldir/core'
import type { Context, MiddlewareHandler } from 'hono'
import type { ApiKeyIdentity, ApiKeyStore } from '../api-keys.ts'
import { clientAddress } from '../client-address.ts'
import { type RateLimit, type RateLimitState, rateLimitHeaders } from '../rate-limits.ts'
import { haldirApiRoles } from '../route-roles.ts'
import type { ServerEnv } from '../server-env.ts'
import { codedError, HaldirApiError, insufficientScope } from './haldir-api-error.ts'
import { type HaldirApiOperation, haldirApiOperations } from './haldir-api-operations.ts'
import { keyScopesCover } from './key-scopes.ts'
import type { UsageCounter } from './usage-counter.ts'

export const MISSING_KEY = 'Missing API key. Pass via Authorization: Bearer <key> or X-API-Key header.'
export const INVALID_KEY = 'Invalid or revoked API key.'

export interface HaldirApiAuthOptions {
  apiKeys: ApiKeyStore
  /** The same limiters as the native API: a key's requests count once, whichever API they use. */
  perKey: RateLimit | null
  failedAuth: RateLimit | null
  trustProxyHops: number
  usage: UsageCounter
  /** Told of every authenticated request (the webhook sender listens to the tenant's events from then on). */
  onAuthenticated?: (identity: ApiKeyIdentity) => void
}

export interface HaldirApiAuth {
  /**
   * Who is calling: the key's identity (set as `identity` on the context), or `null` when the
   * request carries no key. A key that is not one is a 401; an address past its
   * failed-authentication limit, or a key past its request limit, a 429.
   */
  identify(c: Context<ServerEnv>): Promise<ApiKeyIdentity | null>
  /** `identify`, and a 401 without a key. */
  guard: MiddlewareHandler<ServerEnv>
}

/**
 * Upstream's authentication (`HALDIR-API.md` §2): the key from `Authorization: Bearer <key>`,
 * else from `X-API-Key`; 401 `{ error }` in upstream's words for a missing or unknown key. The
 * rate limits are the server's (per key, and failed authentications per client address, which
 * upstream does not have), answered as upstream's 429 body. Every authenticated request counts
 * in the tenant's usage.
 */
export function haldirApiAuth({ apiKeys, perKey, failedAuth, trustProxyHops, usage, onAuthenticated }: HaldirApiAuthOptions): HaldirApiAuth {
  async function identify(c: Context<ServerEnv>): Promise<ApiKeyIdentity | null> {
    const address = clientAddress(c, trustProxyHops)
    if (failedAuth) {
      const standing = await limiterCall(() => failedAuth.peek(address))
      if (standing && !standing.allowed) throw tooMany(standing, 'failed_auth')
    }
    const authorization = c.req.header('authorization')
    const bearer = /^Bearer\s+(\S+)$/.exec(authorization ?? '')?.[1]
    // A header that is there but not a bearer key is a wrong key, not a missing one.
    const presented = bearer ?? (authorization ? '' : c.req.header('x-api-key')?.trim() || undefined)
    const identity = presented ? apiKeys.authenticate(presented) : null
    if (identity === null) {
      if (failedAuth) {
        const standing = await limiterCall(() => failedAuth.consume(address))
        if (!standing.allowed) throw tooMany(standing, 'failed_auth')
      }
      if (presented === undefined) return null
      throw new HaldirApiError({ status: 401, body: { error: INVALID_KEY }, headers: { 'WWW-Authenticate': 'Bearer' } })
    }
    if (perKey) {
      const standing = await limiterCall(() => perKey.consume(identity.keyId))
      if (!standing.allowed) throw tooMany(standing, 'key')
      for (const [name, value] of Object.entries(rateLimitHeaders(standing))) c.header(name, value)
    }
    usage.record(identity.tenant)
    onAuthenticated?.(identity)
    c.set('identity', identity)
    return identity
  }
  return {
    identify,
    guard: async (c, next) => {
      if ((await identify(c)) === null) throw new HaldirApiError({ status: 401, body: { error: MISSING_KEY }, headers: { 'WWW-Authenticate': 'Bearer' } })
      await next()
    },
  }
}

/**
 * Refuses a key whose upstream key scopes do not cover the operation's (403
 * `insufficient_scope`, upstream's shape D), or whose role does not allow it (403 `forbidden`).
 * With `request`, a grant for a named session also needs its `sessionId`. Runs before the body
 * is read (without `request`) and again once it is parsed.
 */
export function requireAccess(identity: ApiKeyIdentity, operation: HaldirApiOperation, request?: { sessionId?: string | null | undefined }): void {
  const required = haldirApiOperations[operation].keyScope
  const granted = identity.scopes ?? ['*']
  if (required !== null && !keyScopesCover(granted, required)) throw insufficientScope(required, granted)
  const grants = haldirApiRoles[operation]
  const grant = grants[identity.role]
  const allowed = Object.entries(grants).map(([role]) => role)
  if (grant === undefined) {
    throw codedError(403, 'forbidden', `An API key with role '${identity.role}' may not ${operation} (allowed: ${allowed.join(', ')})`, { role: identity.role, operation, allowed_roles: allowed })
  }
  if (grant === 'named-session' && request !== undefined && !request.sessionId) {
    const whole = Object.entries(grants).filter(([, kind]) => kind === 'any').map(([role]) => role)
    throw codedError(403, 'forbidden', `An API key with role '${identity.role}' may ${operation} only for a session it names (session_id); the whole tenant needs ${whole.join(', ')}`, {
      role: identity.role,
      operation,
      allowed_roles: allowed,
    })
  }
}

function tooMany(standing: RateLimitState, resource: 'key' | 'failed_auth'): HaldirApiError {
  const headers = rateLimitHeaders(standing)
  const retryAfter = Number(headers['Retry-After'])
  const message = resource === 'key' ? 'Rate limit exceeded' : 'Too many failed authentications from this address'
  return new HaldirApiError({ status: 429, body: { error: message, code: 'rate_limit_exceeded', limit: standing.limit, tier: 'free', retry_after: retryAfter, resource }, requestId: true, headers })
}

async function limiterCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw new BackendError({ message: `The rate-limit store failed: ${error instanceof Error ? error.message : String(error)}`, cause: error })
  }
}
