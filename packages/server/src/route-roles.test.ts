import { BackendError, createHaldir, ForbiddenError, httpBackend, memoryBackend, NotFoundError } from '@haldir/core'
import { type HttpOperation, httpRoutes } from '@haldir/core/backend'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiKeyRole, apiKeyRoles } from './api-key-role.ts'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { ledgerExportPath } from './ledger-export-route.ts'
import { routeRoles, serverRouteRoles } from './route-roles.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const keys = Object.fromEntries(apiKeyRoles.map((role) => [role, createApiKey()])) as Record<ApiKeyRole, string>
const otherTenantAdmin = createApiKey()
let running: RunningHaldirServer
let sessionId: string

beforeAll(async () => {
  running = await serveHaldir({
    backend: memoryBackend(),
    apiKeys: apiKeyStore([...apiKeyRoles.map((role) => ({ tenant: 'acme', role, key: keys[role] })), { tenant: 'globex', role: 'admin' as const, key: otherTenantAdmin }]),
    port: 0,
  })
  const admin = client('admin')
  sessionId = (await admin.createSession({ agentId: 'worker', scopes: ['*'], spendLimit: 5 })).id
  await admin.storeSecret('db_password', 'hunter2')
})
afterAll(() => running.close())

const client = (role: ApiKeyRole) => createHaldir({ backend: httpBackend({ url: running.url, apiKey: keys[role] }) })
const call = (role: ApiKeyRole, method: string, path: string, body?: unknown) =>
  fetch(running.url + path, { method, headers: { authorization: `Bearer ${keys[role]}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
const fill = (path: string, id = sessionId) => path.replace(':sessionId', id).replace(':holdId', 'hold_none').replace(':name', 'db_password')

describe('API key roles', () => {
  it('gives every operation of the route table its roles', () => {
    expect(Object.keys(routeRoles).sort()).toEqual(Object.keys(httpRoutes).sort())
    for (const grants of Object.values(routeRoles)) expect(grants.admin).toBe('any')
  })

  it('enforces the matrix on every route: a role without a grant gets 403 forbidden, before its body is even read', async () => {
    // A session of its own: some allowed calls (a revoke) go through.
    const target = (await client('admin').createSession({ agentId: 'matrix', scopes: ['*'] })).id
    for (const [operation, route] of Object.entries(httpRoutes) as [HttpOperation, (typeof httpRoutes)[HttpOperation]][]) {
      for (const role of apiKeyRoles) {
        // A body no schema accepts: an allowed role gets past the role check and is refused later.
        // Deleting is tried on a secret of its own (an admin's DELETE goes through).
        const path = operation === 'deleteSecret' ? route.path.replace(':name', 'never_stored') : fill(route.path, target)
        const response = await call(role, route.method, path, route.input.in === 'body' ? { unexpected: true } : undefined)
        const json = (await response.json()) as { error?: { code: string; data: { role: string; operation: string } } }
        const what = `${role} → ${operation}: ${response.status} ${JSON.stringify(json).slice(0, 160)}`
        const grant = routeRoles[operation][role]
        if (grant === undefined || (grant === 'named-session' && !route.params.includes('sessionId'))) {
          // No grant; or a grant for a named session, and this request names none.
          expect(response.status, what).toBe(403)
          expect(json.error, what).toMatchObject({ code: 'forbidden', data: { role, operation } })
        } else {
          expect(json.error?.code, what).not.toBe('forbidden')
        }
      }
    }
  })

  it('keeps an auditor key from creating a * session or reading a secret, as a typed ForbiddenError', async () => {
    const auditor = client('auditor')
    const created = await auditor.createSession({ agentId: 'sneaky', scopes: ['*'] }).catch((error: unknown) => error)
    expect(created).toBeInstanceOf(ForbiddenError)
    expect(created).toMatchObject({ code: 'forbidden', role: 'auditor', operation: 'createSession', allowedRoles: ['admin', 'agent'] })
    await expect(auditor.getSecret('db_password', { sessionId })).rejects.toBeInstanceOf(ForbiddenError)
    await expect(auditor.storeSecret('db_password', 'changed')).rejects.toBeInstanceOf(ForbiddenError)
    await expect(auditor.revokeSession(sessionId)).rejects.toBeInstanceOf(ForbiddenError)
    // It reads what an auditor is for.
    expect(await auditor.getSpend(sessionId)).toMatchObject({ totalUsd: 0 })
    expect((await call('auditor', 'GET', '/native/v1/audit')).status).toBe(200)
    expect(await client('admin').getSecret('db_password', { sessionId })).toBe('hunter2')
  })

  it("keeps an agent key from storing a secret, reading the whole tenant, or anything of another tenant", async () => {
    const agent = client('agent')
    await expect(agent.storeSecret('db_password', 'overwritten')).rejects.toBeInstanceOf(ForbiddenError)
    expect(await agent.getSecret('db_password', { sessionId })).toBe('hunter2')
    // A session it names: its trail, spend and chain. The tenant's: refused.
    expect((await agent.getAuditTrail({ sessionId })).count).toBeGreaterThan(0)
    const tenantWide = await agent.getAuditTrail({ agentId: 'worker' }).catch((error: unknown) => error)
    expect(tenantWide).toBeInstanceOf(ForbiddenError)
    expect((tenantWide as Error).message).toContain("may queryAudit only for a session it names (sessionId); reading the whole tenant needs admin, auditor, approver")
    expect((await call('agent', 'GET', '/native/v1/sessions?limit=10')).status).toBe(403)

    const globex = createHaldir({ backend: httpBackend({ url: running.url, apiKey: otherTenantAdmin }) })
    const foreign = await globex.createSession({ agentId: 'globex-worker', scopes: ['*'] })
    await globex.storeSecret('globex_only', 'not-for-acme')
    await expect(agent.getSession(foreign.id)).rejects.toBeInstanceOf(NotFoundError)
    await expect(agent.getSpend(foreign.id)).rejects.toBeInstanceOf(NotFoundError)
    await expect(agent.verifyAuditTrail(foreign.id)).rejects.toBeInstanceOf(NotFoundError)
    await expect(agent.getAuditTrail({ sessionId: foreign.id })).rejects.toBeInstanceOf(NotFoundError)
    await expect(agent.getSecret('globex_only', { sessionId })).rejects.toBeInstanceOf(NotFoundError)
    await expect(agent.authorizePayment(foreign.id, 0.01)).rejects.toBeInstanceOf(NotFoundError)
  })

  it('lets the dashboard read everything with an auditor, approver or admin key, and nothing with an agent key; readers cannot write', async () => {
    // The calls the dashboard's page makes, through its cookie.
    const dashboardCalls = ['/sessions', `/sessions/${sessionId}`, `/sessions/${sessionId}/trail`, '/approvals']
    for (const role of ['auditor', 'approver', 'admin'] as const) {
      const signIn = await call(role, 'POST', '/dashboard/api/sign-in')
      expect(signIn.status, role).toBe(200)
      const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string
      for (const path of dashboardCalls) expect((await fetch(`${running.url}/dashboard/api${path}`, { headers: { cookie } })).status, `${role} ${path}`).toBe(200)
    }
    for (const role of ['auditor', 'approver'] as const) {
      expect((await call(role, 'POST', '/native/v1/sessions', { agentId: 'x', scopes: ['*'], limitMicros: null, ttlMs: 60_000, parentId: null, metadata: {} })).status).toBe(403)
      expect((await call(role, 'POST', `/native/v1/sessions/${sessionId}/revoke`, {})).status).toBe(403)
      expect((await call(role, 'PUT', '/native/v1/secrets/db_password', { value: 'x' })).status).toBe(403)
    }
    const agentSignIn = await call('agent', 'POST', '/dashboard/api/sign-in')
    expect(agentSignIn.status).toBe(403)
    expect(agentSignIn.headers.get('set-cookie')).toBeNull()
    expect(await agentSignIn.json()).toMatchObject({ error: { code: 'forbidden', message: "An API key with role 'agent' may not listSessions (allowed: admin, auditor, approver)" } })
  })

  it('gives the server-only routes their roles too: the ledger export for readers, for an agent only of a session it names', async () => {
    expect(Object.values(serverRouteRoles).every((grants) => grants.admin === 'any')).toBe(true)
    for (const role of apiKeyRoles) {
      const whole = await call(role, 'GET', ledgerExportPath)
      const named = await call(role, 'GET', `${ledgerExportPath}?sessionId=${sessionId}`)
      await whole.body?.cancel()
      await named.body?.cancel()
      expect([role, whole.status, named.status]).toEqual([role, role === 'agent' ? 403 : 200, 200])
    }
  })

  it('still answers 401 (not 403) to an unknown key', async () => {
    const stranger = createHaldir({ backend: httpBackend({ url: running.url, apiKey: 'hld_nobody' }) })
    const error = await stranger.getSession(sessionId).catch((caught: unknown) => caught)
    expect(BackendError.isInstance(error) && error.code === 'unauthorized').toBe(true)
  })
})
