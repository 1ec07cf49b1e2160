import { NotFoundError } from '@haldir/core/backend'
import type { Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import { parseWebhookRegistration } from '../../webhooks/parse-webhook-registration.ts'
import { SECRET_GRACE_SECONDS, webhookIdOf } from '../../webhooks/webhook-registry.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { codedError, plainError } from '../haldir-api-error.ts'
import { idempotencyKeyOf } from '../idempotency-store.ts'

const seconds = (ms: number) => ms / 1000
const notFound = () => codedError(404, 'not_found', 'no webhook with that id in this tenant')

/**
 * Signed webhooks (`HALDIR-API.md` §14), per tenant (upstream lists, counts and fires every
 * tenant's: §18 #7): register (the secret is in that answer and no other), list (never a
 * secret), remove (ours; upstream has no way to), rotate the secret with a grace period, and the
 * log of delivery attempts. Registering checks the URL's resolved addresses first; the sending
 * is the server's webhook dispatcher, off the request path.
 */
export function mountWebhooksRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { auth, idempotency, webhooks } = context

  app.post('/v1/webhooks', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'createWebhook')
    const body = (await context.readJson(c)) as Record<string, unknown>
    if (typeof body === 'object' && body !== null && (body.url === undefined || body.url === null || body.url === '')) throw plainError(400, 'url is required')
    const registration = parseWebhookRegistration(body)
    const key = idempotencyKeyOf(c.req.header('idempotency-key'))
    // The secret is shown in the answer of the request that made it, and never again: an
    // idempotent replay gets the same webhook without it (the recorded answer never holds it).
    let shown: string | null = null
    const work = async () => {
      const { webhook, secret } = await webhooks.register(tenant, registration)
      shown = secret
      return { status: 201, body: { registered: true, webhook_id: webhook.id, url: webhook.url, name: webhook.name, events: webhook.events } }
    }
    const answer = key ? await idempotency.run({ tenant, route: '/v1/webhooks', key, body }, work) : await work()
    return c.json(
      shown === null
        ? { ...(answer.body as Record<string, unknown>), secret: null, message: 'The secret was shown once, when this webhook was registered; rotate it to get a new one.' }
        : { ...(answer.body as Record<string, unknown>), secret: shown, message: "Save the secret — it won't be shown again." },
      201,
    )
  })

  app.get('/v1/webhooks', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listWebhooks')
    return c.json({
      webhooks: (await webhooks.list(tenant)).map((webhook) => ({
        webhook_id: webhook.id,
        url: webhook.url,
        name: webhook.name,
        events: webhook.events,
        active: true,
        fire_count: webhook.fireCount,
        fail_count: webhook.failCount,
        signed: true,
        created_at: seconds(webhook.createdAt),
      })),
    })
  })

  // Before `/:id`, so `deliveries` is not read as an id.
  app.get('/v1/webhooks/deliveries', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listWebhookDeliveries')
    const limitText = c.req.query('limit')
    const limit = limitText === undefined ? 50 : Number(limitText)
    // Upstream answers a non-number with a 500; this says what is wrong.
    if (!Number.isSafeInteger(limit) || limit < 1) throw codedError(400, 'invalid_request', 'limit must be a whole number ≥ 1')
    const attempts = await webhooks.attempts(tenant, { limit, eventId: c.req.query('event_id') || null })
    return c.json({
      deliveries: attempts.map((attempt) => ({
        delivery_id: attempt.deliveryId,
        event_id: attempt.eventId,
        webhook_id: attempt.webhookId,
        webhook_url: attempt.webhookUrl,
        event_type: attempt.eventName,
        attempt: attempt.attempt,
        status_code: attempt.statusCode,
        response_excerpt: attempt.responseExcerpt,
        error: attempt.error,
        duration_ms: attempt.durationMs,
        created_at: seconds(attempt.createdAt),
      })),
    })
  })

  app.post('/v1/webhooks/:id/rotate-secret', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'rotateWebhookSecret')
    const webhookId = webhookIdOf(c.req.param('id'))
    const graceText = c.req.query('grace_seconds')
    const grace = graceText === undefined ? SECRET_GRACE_SECONDS.default : Number(graceText)
    if (!Number.isSafeInteger(grace)) throw codedError(400, 'invalid_request', 'grace_seconds must be a whole number of seconds')
    if (webhookId === null) throw notFound()
    try {
      const rotated = await webhooks.rotateSecret(tenant, webhookId, grace)
      return c.json({
        webhook_id: rotated.webhookId,
        secret: rotated.secret,
        secret_prev: rotated.previousSecret,
        secret_prev_expires_at: seconds(rotated.previousSecretExpiresAt),
        grace_seconds: rotated.graceSeconds,
        message: 'Deliveries are signed with the new secret from now on; accept either secret until secret_prev_expires_at.',
      })
    } catch (error) {
      if (NotFoundError.isInstance(error)) throw notFound()
      throw error
    }
  })

  app.delete('/v1/webhooks/:id', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'deleteWebhook')
    const webhookId = webhookIdOf(c.req.param('id'))
    if (webhookId === null) throw notFound()
    try {
      await webhooks.remove(tenant, webhookId)
    } catch (error) {
      if (NotFoundError.isInstance(error)) throw notFound()
      throw error
    }
    return c.json({ deleted: true, webhook_id: webhookId })
  })
}
