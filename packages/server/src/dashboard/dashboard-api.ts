import type { HaldirBackend } from '@haldir/core/backend'
import { idSchema, parseInput } from '@haldir/core/backend'
import type { Hono, MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie } from 'hono/cookie'
import { z } from 'zod'
import type { ApiKeyIdentity, ApiKeyStore } from '../api-keys.ts'
import type { KeyRegistry } from '../key-registry.ts'
import type { RateLimit } from '../rate-limits.ts'
import { authorizeRole } from '../route-roles.ts'
import type { ServerEnv } from '../server-env.ts'
import { DASHBOARD_COOKIE, dashboardAuth, setDashboardCookie } from './dashboard-auth.ts'
import { searchSessions, sessionSearchSchema } from './search-sessions.ts'
import { sessionDetail } from './session-detail.ts'
import { filterTrail, readSessionTrail, trailFilterSchema } from './session-trail.ts'
import { signInStore } from './sign-in-store.ts'

/** Where the dashboard's own API lives (cookie-authenticated; the native and Haldir APIs keep bearer keys). */
export const DASHBOARD_API = '/dashboard/api'

const SIGN_IN_SECONDS = 8 * 3600

export interface DashboardApiOptions {
  backend: HaldirBackend
  apiKeys: ApiKeyStore
  /** The keys minted through the Haldir API: listed, and revoked by an admin, on the Keys page. */
  registry: KeyRegistry
  perKey: RateLimit | null
  /** The bearer-key guard: signing in is the one dashboard request that presents the key itself. */
  guard: MiddlewareHandler<ServerEnv>
  refuseNarrowedKey: (identity: ApiKeyIdentity, operation: string) => void
}

// `by` is the name the person gives; the record also names the key, which is what the server vouches for.
const decisionSchema = z.strictObject({ decision: z.enum(['approve', 'deny']), note: z.string().max(1000).nullable().default(null), by: z.string().trim().max(200).default('') })
const revokeSchema = z.strictObject({ reason: z.string().max(1000).nullable().default(null) })

/** What each role may do in the dashboard, for the page to show only what will work (the routes check again). */
export function dashboardAbilities(role: ApiKeyIdentity['role']) {
  return { approve: role === 'admin' || role === 'approver', revoke: role === 'admin', keys: role === 'admin' }
}

/**
 * The dashboard's API under {@link DASHBOARD_API}: sign in with a key (bearer, once) into a
 * cookie; then searching sessions, a session's page and trail, approvals and their decisions,
 * revocation and the keys page; the event stream and the export are mounted by the caller behind
 * the returned `auth`. Every route checks the role itself, with the same matrix as the native API
 * (`routeRoles`; revoking and keys from the dashboard are an admin's, `serverRouteRoles`), so
 * hiding a button is never the only wall.
 */
export function mountDashboardApi(app: Hono<ServerEnv>, options: DashboardApiOptions): { auth: MiddlewareHandler<ServerEnv> } {
  const { backend } = options
  const signIns = signInStore({ ttlMs: SIGN_IN_SECONDS * 1000 })
  const auth = dashboardAuth({ signIns, apiKeys: options.apiKeys, perKey: options.perKey })
  const readable = (identity: ApiKeyIdentity) => {
    options.refuseNarrowedKey(identity, 'listSessions')
    authorizeRole(identity.role, 'listSessions')
  }

  app.post(`${DASHBOARD_API}/sign-in`, options.guard, (c) => {
    const identity = c.get('identity')
    // An agent key cannot read the tenant, so it has nothing to see here: refused before a cookie exists.
    readable(identity)
    const apiKey = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] as string
    const { cookie, csrfToken } = signIns.create(apiKey)
    setDashboardCookie(c, cookie, SIGN_IN_SECONDS)
    return c.json({ tenant: identity.tenant, role: identity.role, csrfToken, can: dashboardAbilities(identity.role) })
  })
  app.post(`${DASHBOARD_API}/sign-out`, auth, (c) => {
    const cookie = getCookie(c, DASHBOARD_COOKIE)
    if (cookie !== undefined) signIns.delete(cookie)
    deleteCookie(c, DASHBOARD_COOKIE, { path: '/' })
    return c.json({ ok: true })
  })
  app.get(`${DASHBOARD_API}/me`, auth, (c) => {
    const identity = c.get('identity')
    readable(identity)
    const csrfToken = signIns.get(getCookie(c, DASHBOARD_COOKIE) as string)?.csrfToken
    return c.json({ tenant: identity.tenant, role: identity.role, csrfToken, can: dashboardAbilities(identity.role) })
  })
  app.get(`${DASHBOARD_API}/sessions`, auth, async (c) => {
    const identity = c.get('identity')
    readable(identity)
    return c.json(await searchSessions(backend, identity.tenant, parseInput(sessionSearchSchema, c.req.query())))
  })
  app.get(`${DASHBOARD_API}/sessions/:sessionId`, auth, async (c) => {
    const identity = c.get('identity')
    readable(identity)
    return c.json(await sessionDetail(backend, identity.tenant, parseInput(idSchema, c.req.param('sessionId'))))
  })
  app.get(`${DASHBOARD_API}/sessions/:sessionId/trail`, auth, async (c) => {
    const identity = c.get('identity')
    readable(identity)
    authorizeRole(identity.role, 'queryAudit')
    const filter = parseInput(trailFilterSchema, c.req.query())
    const entries = await readSessionTrail(backend, identity.tenant, parseInput(idSchema, c.req.param('sessionId')))
    return c.json(filterTrail(entries, filter))
  })
  app.post(`${DASHBOARD_API}/sessions/:sessionId/revoke`, auth, async (c) => {
    const identity = c.get('identity')
    authorizeRole(identity.role, 'dashboardRevokeSession')
    const { reason } = parseInput(revokeSchema, await c.req.json().catch(() => ({})))
    return c.json(await backend.revokeSession({ tenant: identity.tenant, sessionId: parseInput(idSchema, c.req.param('sessionId')), reason: reason ?? `revoked from the dashboard by key ${identity.keyId}` }))
  })
  app.get(`${DASHBOARD_API}/approvals`, auth, async (c) => {
    const identity = c.get('identity')
    authorizeRole(identity.role, 'listApprovals')
    readable(identity)
    return c.json({ approvals: await backend.listApprovals({ tenant: identity.tenant, status: 'pending', sessionId: null, limit: 500 }) })
  })
  app.post(`${DASHBOARD_API}/approvals/:approvalId/decide`, auth, async (c) => {
    const identity = c.get('identity')
    authorizeRole(identity.role, 'decideApproval')
    const { decision, note, by } = parseInput(decisionSchema, await c.req.json().catch(() => ({})))
    const approvalId = parseInput(idSchema, c.req.param('approvalId'))
    return c.json(await backend.decideApproval({ tenant: identity.tenant, approvalId, decision, decidedBy: `${by === '' ? '' : `${by} `}(dashboard, ${identity.role} key ${identity.keyId})`, note }))
  })
  app.get(`${DASHBOARD_API}/keys`, auth, (c) => {
    const identity = c.get('identity')
    authorizeRole(identity.role, 'dashboardKeys')
    const minted = options.registry.listMinted(identity.tenant)
    const mintedIds = new Set(minted.map((key) => key.hash.slice(7, 23)))
    // Configured keys (from the server's options or keys file) are listed by id and role; only minted ones can be revoked here.
    const configured = (options.apiKeys.list?.(identity.tenant) ?? []).filter((key) => !mintedIds.has(key.keyId))
    return c.json({
      configured,
      minted: minted.map(({ prefix, name, role, scopes, createdAt, lastUsed, revoked }) => ({ prefix, name, role, scopes, createdAt, lastUsed, revoked })),
    })
  })
  app.post(`${DASHBOARD_API}/keys/:prefix/revoke`, auth, (c) => {
    const identity = c.get('identity')
    authorizeRole(identity.role, 'dashboardKeys')
    const prefix = parseInput(z.string().min(1).max(64), c.req.param('prefix'))
    if (!options.registry.revoke(identity.tenant, prefix)) return c.json({ error: { code: 'not_found', message: 'No active minted key with that prefix in this tenant', data: {} } }, 404)
    return c.json({ revoked: true, prefix })
  })
  return { auth }
}
