import { NATIVE_API_PREFIX, NotFoundError, ValidationError } from '@haldir/core/backend'
import type { Context, Hono, MiddlewareHandler } from 'hono'
import type { ApiKeyIdentity } from '../api-keys.ts'
import { authorizeRole } from '../route-roles.ts'
import type { ServerEnv } from '../server-env.ts'
import { parseWebhookRegistration } from './parse-webhook-registration.ts'
import { SECRET_GRACE_SECONDS, webhookIdOf, type WebhookRegistry } from './webhook-registry.ts'

/** Where the native webhook routes live. */
export const nativeWebhooksPath = `${NATIVE_API_PREFIX}/v1/webhooks`

/**
 * Our own webhook routes (`/native/v1/webhooks`), the same operations as the Haldir API's §14
 * over the same registry, in the native API's shapes: camelCase, epoch milliseconds, errors as
 * `{ error: { code, message, data } }` (a `ValidationError` naming the field, a `NotFoundError`
 * for a webhook that is missing or another tenant's). Roles as `serverRouteRoles` says.
 */
export function mountNativeWebhooks(
  app: Hono<ServerEnv>,
  options: {
    webhooks: WebhookRegistry
    guard: MiddlewareHandler<ServerEnv>
    refuseNarrowedKey: (identity: ApiKeyIdentity, operation: string) => void
    body: (c: Context<ServerEnv>) => Promise<Record<string, unknown>>
  },
): void {
  const { webhooks, guard } = options
  const allow = (c: Context<ServerEnv>, operation: 'createWebhook' | 'listWebhooks' | 'listWebhookDeliveries' | 'rotateWebhookSecret' | 'deleteWebhook') => {
    const identity = c.get('identity')
    options.refuseNarrowedKey(identity, operation)
    authorizeRole(identity.role, operation)
    return identity.tenant
  }
  const idOf = (c: Context<ServerEnv>) => {
    const id = webhookIdOf(c.req.param('id'))
    if (id === null) throw new NotFoundError({ resource: 'webhook', id: String(c.req.param('id')).slice(0, 40), message: 'no webhook with that id in this tenant' })
    return id
  }

  app.post(nativeWebhooksPath, guard, async (c) => {
    const tenant = allow(c, 'createWebhook')
    const { webhook, secret } = await webhooks.register(tenant, parseWebhookRegistration(await options.body(c)))
    return c.json({ webhook, secret }, 201)
  })

  app.get(nativeWebhooksPath, guard, async (c) => {
    const tenant = allow(c, 'listWebhooks')
    return c.json({ webhooks: await webhooks.list(tenant) })
  })

  app.get(`${nativeWebhooksPath}/deliveries`, guard, async (c) => {
    const tenant = allow(c, 'listWebhookDeliveries')
    const limitText = c.req.query('limit')
    const limit = limitText === undefined ? 50 : Number(limitText)
    if (!Number.isSafeInteger(limit) || limit < 1) throw new ValidationError({ issues: [{ path: 'limit', message: 'must be a whole number ≥ 1' }] })
    return c.json({ deliveries: await webhooks.attempts(tenant, { limit, eventId: c.req.query('eventId') || null }) })
  })

  app.post(`${nativeWebhooksPath}/:id/rotate-secret`, guard, async (c) => {
    const tenant = allow(c, 'rotateWebhookSecret')
    const graceText = c.req.query('graceSeconds')
    const grace = graceText === undefined ? SECRET_GRACE_SECONDS.default : Number(graceText)
    if (!Number.isSafeInteger(grace)) throw new ValidationError({ issues: [{ path: 'graceSeconds', message: 'must be a whole number of seconds' }] })
    return c.json(await webhooks.rotateSecret(tenant, idOf(c), grace))
  })

  app.delete(`${nativeWebhooksPath}/:id`, guard, async (c) => {
    const tenant = allow(c, 'deleteWebhook')
    await webhooks.remove(tenant, idOf(c))
    return c.json({ ok: true })
  })
}
