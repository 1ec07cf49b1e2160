import { BackendError, NotFoundError, PermissionDeniedError, SessionExpiredError, SessionRevokedError } from '@haldir/core'
import { backendRequestSchemas, idSchema, nameSchema, parseInput } from '@haldir/core/backend'
import type { Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { INVALID_SESSION, plainError } from '../haldir-api-error.ts'

const NO_SESSION = 'X-Session-ID header or session_id param required to access secrets'
const missing = (name: string) => plainError(404, `Secret '${name}' not found`)

/**
 * The vault (`HALDIR-API.md` §6): store (AES-256-GCM, bound to tenant, name, scope and key id),
 * list names, read as a session (audited, never the value; `X-Session-ID` or `session_id`,
 * required as upstream requires it), delete. A read is decided by the engine in one step:
 * liveness and the secret's scope (so a dead or unscoped session learns nothing more), then the
 * name.
 */
export function mountSecretsRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { backend, auth, idempotency } = context

  app.post('/v1/secrets', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'storeSecret')
    const body = (await context.readJson(c)) as Record<string, unknown>
    const name = body?.name
    const value = body?.value
    if (typeof name !== 'string' || name === '' || typeof value !== 'string' || value === '') throw plainError(400, 'name and value are required')
    // Upstream stores such a name but can never read it back (a path segment cannot hold it).
    if (name.includes('/')) throw plainError(400, "name must not contain '/'")
    const scopeRequired = body.scope_required === undefined ? 'read' : body.scope_required
    const request = parseInput(backendRequestSchemas.putSecret, { name, value, scopeRequired })
    const work = async () => {
      await backend.putSecret({ ...request, tenant })
      return { status: 201, body: { stored: true, name } }
    }
    return idempotency.respond(c, { tenant, route: '/v1/secrets', body }, work)
  })

  app.get('/v1/secrets', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listSecrets')
    if (!backend.listSecrets) throw new BackendError({ message: `The ${backend.name} backend does not list secrets`, status: 501 })
    const names = (await backend.listSecrets({ tenant })).map((secret) => secret.name)
    return c.json({ secrets: names, count: names.length })
  })

  app.get('/v1/secrets/:name', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    const sessionId = c.req.header('x-session-id')?.trim() || c.req.query('session_id')
    requireAccess(c.get('identity'), 'getSecret')
    if (!sessionId) throw plainError(400, NO_SESSION)
    const name = c.req.param('name')
    if (!idSchema.safeParse(sessionId).success) throw plainError(401, INVALID_SESSION)
    if (!nameSchema.safeParse(name).success) throw missing(name)
    try {
      const value = await backend.readSecret({ tenant, sessionId, name })
      return c.json({ name, value })
    } catch (error) {
      if (NotFoundError.isInstance(error)) throw error.resource === 'secret' ? missing(name) : plainError(401, INVALID_SESSION)
      if (SessionExpiredError.isInstance(error) || SessionRevokedError.isInstance(error)) throw plainError(401, INVALID_SESSION)
      if (PermissionDeniedError.isInstance(error)) throw plainError(403, `Session lacks '${error.scope ?? '?'}' scope for secret '${name}'`)
      throw error
    }
  })

  app.delete('/v1/secrets/:name', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'deleteSecret')
    const name = c.req.param('name')
    if (!backend.deleteSecret) throw new BackendError({ message: `The ${backend.name} backend does not delete secrets`, status: 501 })
    if (!nameSchema.safeParse(name).success) throw missing(name)
    try {
      await backend.deleteSecret({ tenant, name })
    } catch (error) {
      if (NotFoundError.isInstance(error)) throw missing(name)
      throw error
    }
    return c.json({ deleted: true, name })
  })
}
