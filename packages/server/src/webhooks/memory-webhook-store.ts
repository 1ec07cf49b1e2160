import type { DeliveryAttempt, QueuedDelivery, WebhookRecord, WebhookStore } from '@haldir/core/backend'

/** Attempts kept per tenant; older ones are dropped (the log is for looking back, not an archive). */
const ATTEMPTS_PER_TENANT = 1000

/**
 * Webhooks and their outbox in this process: deliveries survive a receiver being down (they are
 * retried), not a restart of the process. The PostgreSQL store keeps them across restarts.
 */
export function memoryWebhookStore(): WebhookStore {
  const webhooks = new Map<number, WebhookRecord>()
  const queue = new Map<string, QueuedDelivery>()
  const attempts = new Map<string, DeliveryAttempt[]>()
  let nextId = 1
  const own = (tenant: string, webhookId: number) => {
    const webhook = webhooks.get(webhookId)
    return webhook && webhook.tenant === tenant ? webhook : null
  }
  // Copies out, so a caller changing a record never changes the store.
  const copy = (webhook: WebhookRecord): WebhookRecord => ({ ...webhook, events: [...webhook.events] })
  return {
    async addWebhook(input) {
      const webhook: WebhookRecord = { ...input, events: [...input.events], id: nextId++, previousSecret: null, previousSecretExpiresAt: null, fireCount: 0, failCount: 0 }
      webhooks.set(webhook.id, webhook)
      return copy(webhook)
    },
    async listWebhooks(tenant) {
      return [...webhooks.values()].filter((webhook) => webhook.tenant === tenant).map(copy)
    },
    async getWebhook(tenant, webhookId) {
      const webhook = own(tenant, webhookId)
      return webhook ? copy(webhook) : null
    },
    async removeWebhook(tenant, webhookId) {
      if (!own(tenant, webhookId)) return false
      webhooks.delete(webhookId)
      for (const [id, delivery] of queue) if (delivery.webhookId === webhookId) queue.delete(id)
      return true
    },
    async rotateWebhookSecret({ tenant, webhookId, secret, previousSecretExpiresAt }) {
      const webhook = own(tenant, webhookId)
      if (!webhook) return null
      webhook.previousSecret = webhook.secret
      webhook.previousSecretExpiresAt = previousSecretExpiresAt
      webhook.secret = secret
      return copy(webhook)
    },
    async enqueueDeliveries(deliveries) {
      for (const delivery of deliveries) queue.set(delivery.id, { ...delivery })
    },
    async claimDueDeliveries({ now, limit, leaseUntil }) {
      const due = [...queue.values()].filter((delivery) => delivery.nextAttemptAt <= now).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt).slice(0, limit)
      for (const delivery of due) delivery.nextAttemptAt = leaseUntil
      return due.map((delivery) => ({ ...delivery }))
    },
    async finishAttempt({ delivery, outcome, nextAttemptAt, attempt }) {
      const log = attempts.get(attempt.tenant) ?? []
      log.push({ ...attempt })
      if (log.length > ATTEMPTS_PER_TENANT) log.splice(0, log.length - ATTEMPTS_PER_TENANT)
      attempts.set(attempt.tenant, log)
      const queued = queue.get(delivery.id)
      if (!queued) return
      if (outcome === 'retry') {
        queued.attempts = delivery.attempts + 1
        queued.nextAttemptAt = nextAttemptAt
        return
      }
      queue.delete(delivery.id)
      const webhook = webhooks.get(delivery.webhookId)
      if (webhook && outcome === 'delivered') webhook.fireCount++
      if (webhook && outcome === 'failed') webhook.failCount++
    },
    async listDeliveryAttempts({ tenant, limit, eventId }) {
      const log = attempts.get(tenant) ?? []
      return log
        .filter((attempt) => eventId === null || attempt.eventId === eventId)
        .reverse()
        .slice(0, limit)
        .map((attempt) => ({ ...attempt }))
    },
  }
}
