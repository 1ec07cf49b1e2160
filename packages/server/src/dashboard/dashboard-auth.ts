import type { Context, MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { ApiKeyStore } from '../api-keys.ts'
import { type RateLimit, rateLimitHeaders } from '../rate-limits.ts'
import type { ServerEnv } from '../server-env.ts'
import { sameToken, type SignInStore } from './sign-in-store.ts'

/** The cookie that carries a dashboard sign-in (an opaque random value; the key stays on the server). */
export const DASHBOARD_COOKIE = 'haldir_dashboard'
/** The header every mutating dashboard request carries: the CSRF token the signed-in page was given. */
export const CSRF_HEADER = 'x-haldir-csrf'

const unauthorized = (c: Context<ServerEnv>, message: string) => c.json({ error: { code: 'unauthorized', message, data: {} } }, 401)

/**
 * Authenticates a dashboard request by its cookie, as `authenticate` does a bearer key: the
 * sign-in's key is looked up again on every request (a key removed from the store stops working
 * at once) and counted against the key's rate limit. A request that changes anything must also
 * carry the sign-in's CSRF token in {@link CSRF_HEADER}: a cross-site form cannot set a header,
 * and a cross-site script cannot read the token (no CORS here); `SameSite=Strict` is the second wall.
 */
export function dashboardAuth(options: { signIns: SignInStore; apiKeys: ApiKeyStore; perKey: RateLimit | null }): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    const cookie = getCookie(c, DASHBOARD_COOKIE)
    const signIn = cookie === undefined ? undefined : options.signIns.get(cookie)
    if (cookie === undefined || signIn === undefined) return unauthorized(c, 'Not signed in')
    const identity = options.apiKeys.authenticate(signIn.apiKey)
    if (identity === null) {
      options.signIns.delete(cookie)
      deleteCookie(c, DASHBOARD_COOKIE, { path: '/' })
      return unauthorized(c, 'The API key of this sign-in is no longer valid')
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !sameToken(c.req.header(CSRF_HEADER) ?? '', signIn.csrfToken)) {
      return c.json({ error: { code: 'forbidden', message: `Missing or wrong ${CSRF_HEADER} header`, data: {} } }, 403)
    }
    if (options.perKey) {
      const standing = await options.perKey.consume(identity.keyId)
      for (const [name, value] of Object.entries(rateLimitHeaders(standing))) c.header(name, value)
      if (!standing.allowed) return c.json({ error: { code: 'rate_limit_exceeded', message: 'Rate limit exceeded for this API key', data: {} } }, 429)
    }
    c.set('identity', identity)
    await next()
  }
}

/** Sets the sign-in cookie: HTTP-only (no script reads it), `SameSite=Strict`, `Secure` when the request came over HTTPS. */
export function setDashboardCookie(c: Context<ServerEnv>, value: string, maxAgeSeconds: number): void {
  const secure = new URL(c.req.url).protocol === 'https:'
  setCookie(c, DASHBOARD_COOKIE, value, { httpOnly: true, sameSite: 'Strict', secure, path: '/', maxAge: maxAgeSeconds })
}
