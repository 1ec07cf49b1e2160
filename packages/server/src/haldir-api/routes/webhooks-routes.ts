import { randomBytes } from 'node:crypto'
import { HALDIR_EVENT_TYPES, isWellFormed } from '@haldir/core/backend'
import type { Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import { resolveWebhookTarget } from '../../webhooks/webhook-target.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { codedError, invalidRequest, plainError } from '../haldir-api-error.ts'
import { idempotencyKeyOf } from '../idempotency-store.ts'

/** Webhooks one tenant may have; each event is one outbox row per webhook. */
const MAX_WEBHOOKS_PER_TENANT = 20
const MAX_URL_LENGTH = 2048
/**
 * Names a webhook may subscribe to: `all`, our event types, and upstream's names (`anomaly` and
 * `compliance.evidence_pack` are accepted so upstream clients register, but never fire here).
 */
const EVENT_NAMES = new Set<string>(['all', ...HALDIR_EVENT_TYPES, 'budget_exhausted', 'approval_requested', 'anomaly', 'compliance.evidence_pack'])
/** Upstream's grace period for the previous secret after a rotation, and its bounds (seconds). */
const GRACE_S = { default: 86_400, min: 60, max: 604_800 }

const seconds = (ms: number) => ms / 1000

/**
 * Signed webhooks (`HALDIR-API.md` §14), per tenant (upstream lists, counts and fires every
 * tenant's: §18 #7): register (the secret is in that answer and no other), list (no secret, ever),
 * remove, rotate the secret with a grace period, and the log of delivery attempts. Registering
 * checks the URL's resolved addresses first (`resolveWebhookTarget`); the sending itself is the
 * server's webhook dispatcher, off the request path.
 */
export function mountWebhooksRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { auth, idempotency } = context

  app.post('/v1/webhooks', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'createWebhook')
    const { store, dispatcher, allowPrivateTargets } = context.webhooks
    const body = (await context.readJson(c)) as Record<string, unknown>
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('body', 'expected dict')
    const url = body.url
    if (url === undefined || url === null || url === '') throw plainError(400, 'url is required')
    if (typeof url !== 'string') throw invalidRequest('url', `expected str, got ${typeof url}`)
    if (url.length > MAX_URL_LENGTH || !isWellFormed(url)) throw invalidRequest('url', `must be well-formed text of at most ${MAX_URL_LENGTH} characters`)
    const name = body.name === undefined || body.name === null ? '' : body.name
    if (typeof name !== 'string' || name.length > 200 || !isWellFormed(name)) throw invalidRequest('name', 'must be text of at most 200 characters')
    const events = body.events === undefined || body.events === null || (Array.isArray(body.events) && body.events.length === 0) ? ['all'] : body.events
    if (!Array.isArray(events) || events.length > 50 || events.some((event) => typeof event !== 'string')) throw invalidRequest('events', 'must be a list of at most 50 event names')
    // Upstream stores any name; an unknown one here would be a webhook that silently never fires.
    const unknown = (events as string[]).find((event) => !EVENT_NAMES.has(event))
    if (unknown !== undefined) throw invalidRequest('events', `unknown event '${unknown.slice(0, 60)}' (known: ${[...EVENT_NAMES].join(', ')})`)
    // Where it points is checked before anything is stored: a private address is refused here, not at the first delivery.
    await resolveWebhookTarget(url, { allowPrivate: allowPrivateTargets })
    const key = idempotencyKeyOf(c.req.header('idempotency-key'))
    // The secret is shown in the answer of the request that made it, and never again: an
    // idempotent replay gets the same webhook without it (the recorded answer never holds it).
    let shown: string | null = null
    const work = async () => {
      if ((await store.listWebhooks(tenant)).length >= MAX_WEBHOOKS_PER_TENANT) throw codedError(409, 'webhook_limit', `A tenant may have at most ${MAX_WEBHOOKS_PER_TENANT} webhooks; remove one first`)
      const secret = randomBytes(32).toString('base64url')
      const webhook = await store.addWebhook({ tenant, url, name, events: [...new Set(events as string[])], secret, createdAt: Date.now() })
      dispatcher.changed(tenant)
      dispatcher.watch(tenant)
      shown = secret
      return { status: 201, body: { registered: true, webhook_id: webhook.id, url: webhook.url, name: webhook.name, events: webhook.events } }
    }
    const answer = key ? await idempotency.run({ tenant, route: '/v1/webhooks', key, body }, work) : await work()
    const replayed = shown === null
    return c.json(
      replayed
        ? { ...(answer.body as Record<string, unknown>), secret: null, message: 'The secret was shown once, when this webhook was registered; rotate it to get a new one.' }
        : { ...(answer.body as Record<string, unknown>), secret: shown, message: "Save the secret — it won't be shown again." },
      201,
    )
  })

  app.get('/v1/webhooks', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listWebhooks')
    const webhooks = await context.webhooks.store.listWebhooks(tenant)
    // Built field by field, so no secret can ride along in a listing.
    return c.json({
      webhooks: webhooks.map((webhook) => ({
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
    if (!Number.isSafeInteger(limit) || limit < 1) throw codedError(400, 'invalid_request', 'limit must be a whole number ≥ 1')
    const eventId = c.req.query('event_id') || null
    const attempts = await context.webhooks.store.listDeliveryAttempts({ tenant, limit: Math.min(limit, 500), eventId })
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
    const { store, dispatcher } = context.webhooks
    const webhookId = webhookIdOf(c.req.param('id'))
    const graceText = c.req.query('grace_seconds')
    const requested = graceText === undefined ? GRACE_S.default : Number(graceText)
    if (!Number.isSafeInteger(requested)) throw codedError(400, 'invalid_request', 'grace_seconds must be a whole number of seconds')
    const grace = Math.min(Math.max(requested, GRACE_S.min), GRACE_S.max)
    const expiresAt = Date.now() + grace * 1000
    const rotated = webhookId === null ? null : await store.rotateWebhookSecret({ tenant, webhookId, secret: randomBytes(32).toString('base64url'), previousSecretExpiresAt: expiresAt })
    if (!rotated) throw codedError(404, 'not_found', 'no webhook with that id in this tenant')
    dispatcher.changed(tenant)
    return c.json({
      webhook_id: rotated.id,
      secret: rotated.secret,
      secret_prev: rotated.previousSecret,
      secret_prev_expires_at: seconds(expiresAt),
      grace_seconds: grace,
      message: 'Deliveries are signed with the new secret from now on; accept either secret until secret_prev_expires_at.',
    })
  })

  // Not upstream's (it has no way to remove a webhook): removes it and drops its queued deliveries.
  app.delete('/v1/webhooks/:id', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'deleteWebhook')
    const { store, dispatcher } = context.webhooks
    const webhookId = webhookIdOf(c.req.param('id'))
    if (webhookId === null || !(await store.removeWebhook(tenant, webhookId))) throw codedError(404, 'not_found', 'no webhook with that id in this tenant')
    dispatcher.changed(tenant)
    return c.json({ deleted: true, webhook_id: webhookId })
  })
}

/** A webhook id from the path: a positive integer, else `null` (answered as not found, like a missing one). */
function webhookIdOf(text: string | undefined): number | null {
  if (text === undefined || !/^[1-9][0-9]{0,15}$/.test(text)) return null
  const id = Number(text)
  return Number.isSafeInteger(id) ? id : null
}

