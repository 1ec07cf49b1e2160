import { randomBytes } from 'node:crypto'
import { BackendError, type DeliveryAttempt, NotFoundError, QuotaExceededError, type WebhookRecord, type WebhookStore } from '@haldir/core/backend'
import { MAX_WEBHOOKS_PER_TENANT, type WebhookRegistration } from './parse-webhook-registration.ts'
import type { WebhookDispatcher } from './webhook-dispatcher.ts'
import { resolveWebhookTarget } from './webhook-target.ts'

/** A webhook as it may be shown: everything but its secrets. */
export type WebhookListing = Omit<WebhookRecord, 'secret' | 'previousSecret'>

/** Upstream's grace period for the previous secret after a rotation, and its bounds (seconds). */
export const SECRET_GRACE_SECONDS = { default: 86_400, min: 60, max: 604_800 } as const

/**
 * The tenant-scoped operations on webhooks both APIs serve (the Haldir API at `/v1/webhooks`, ours
 * at `/native/v1/webhooks`): every one names the tenant, a webhook of another tenant is missing,
 * and a secret leaves only in the answer that made it (registration, rotation). Refusals are
 * typed errors thrown before anything is stored.
 */
export function webhookRegistry(options: { store: WebhookStore; dispatcher: WebhookDispatcher; allowPrivateTargets: boolean }) {
  const { store, dispatcher } = options
  const missing = (webhookId: number) => new NotFoundError({ resource: 'webhook', id: String(webhookId), message: 'no webhook with that id in this tenant' })
  const newSecret = () => randomBytes(32).toString('base64url')
  return {
    /** Checks where it points (the resolved addresses), stores it with a fresh secret, and listens to the tenant's events. */
    async register(tenant: string, registration: WebhookRegistration): Promise<{ webhook: WebhookListing; secret: string }> {
      if (!dispatcher.listens) throw new BackendError({ message: 'This backend reports no events, so a webhook would never fire', status: 501 })
      await resolveWebhookTarget(registration.url, { allowPrivate: options.allowPrivateTargets })
      if ((await store.listWebhooks(tenant)).length >= MAX_WEBHOOKS_PER_TENANT) {
        throw new QuotaExceededError({ message: `A tenant may have at most ${MAX_WEBHOOKS_PER_TENANT} webhooks; remove one first`, data: { limit: MAX_WEBHOOKS_PER_TENANT } })
      }
      const { secret, previousSecret: _, ...webhook } = await store.addWebhook({ tenant, ...registration, secret: newSecret(), createdAt: Date.now() })
      dispatcher.changed(tenant)
      dispatcher.watch(tenant)
      return { webhook, secret }
    },

    async list(tenant: string): Promise<WebhookListing[]> {
      // Field by field: no secret can ride along in a listing.
      return (await store.listWebhooks(tenant)).map(({ secret: _, previousSecret: __, ...webhook }) => webhook)
    },

    async remove(tenant: string, webhookId: number): Promise<void> {
      if (!(await store.removeWebhook(tenant, webhookId))) throw missing(webhookId)
      dispatcher.changed(tenant)
    },

    /** A new secret signs from now on; the old one is handed back for receivers to accept until `previousSecretExpiresAt`. */
    async rotateSecret(tenant: string, webhookId: number, graceSeconds: number): Promise<{ webhookId: number; secret: string; previousSecret: string | null; previousSecretExpiresAt: number; graceSeconds: number }> {
      const grace = Math.min(Math.max(graceSeconds, SECRET_GRACE_SECONDS.min), SECRET_GRACE_SECONDS.max)
      const previousSecretExpiresAt = Date.now() + grace * 1000
      const rotated = await store.rotateWebhookSecret({ tenant, webhookId, secret: newSecret(), previousSecretExpiresAt })
      if (!rotated) throw missing(webhookId)
      dispatcher.changed(tenant)
      return { webhookId: rotated.id, secret: rotated.secret, previousSecret: rotated.previousSecret, previousSecretExpiresAt, graceSeconds: grace }
    },

    attempts(tenant: string, query: { limit: number; eventId: string | null }): Promise<DeliveryAttempt[]> {
      return store.listDeliveryAttempts({ tenant, limit: Math.min(query.limit, 500), eventId: query.eventId })
    },
  }
}

export type WebhookRegistry = ReturnType<typeof webhookRegistry>

/** A webhook id from a path: a positive integer, else `null` (answered as not found, like a missing one). */
export function webhookIdOf(text: string | undefined): number | null {
  if (text === undefined || !/^[1-9][0-9]{0,15}$/.test(text)) return null
  const id = Number(text)
  return Number.isSafeInteger(id) ? id : null
}
