/**
 * Where a server keeps its signed webhooks (registrations per tenant), the **outbox** of
 * deliveries still to make, and the log of attempts. The server decides (what to send, when to
 * retry, whom to refuse); a store only keeps rows and hands out due deliveries, so the memory
 * and PostgreSQL stores stay thin. Every read and write names the tenant, except the one the
 * sender needs across tenants (`claimDueDeliveries`: it hands out rows of any tenant, each
 * naming its tenant, whose webhook is then read by that tenant).
 */
export interface WebhookStore {
  /** Stores a new webhook and gives it the next id (unique across tenants). */
  addWebhook(input: NewWebhook): Promise<WebhookRecord>
  /** The tenant's webhooks, oldest first. */
  listWebhooks(tenant: string): Promise<WebhookRecord[]>
  /** One of the tenant's webhooks; `null` when missing or another tenant's. */
  getWebhook(tenant: string, webhookId: number): Promise<WebhookRecord | null>
  /** Removes the webhook and its queued deliveries; `false` when missing or another tenant's. */
  removeWebhook(tenant: string, webhookId: number): Promise<boolean>
  /** Replaces the signing secret, keeping the old one (for the receiver's grace period only); `null` when missing. */
  rotateWebhookSecret(input: { tenant: string; webhookId: number; secret: string; previousSecretExpiresAt: number }): Promise<WebhookRecord | null>
  /** Queues deliveries (durably, on a durable store). */
  enqueueDeliveries(deliveries: readonly QueuedDelivery[]): Promise<void>
  /**
   * Up to `limit` queued deliveries due at `now`, leased until `leaseUntil` (their due time is
   * moved there), so two senders never take the same one and a sender that died mid-delivery
   * leaves it to be taken again once the lease ends.
   */
  claimDueDeliveries(input: { now: number; limit: number; leaseUntil: number }): Promise<QueuedDelivery[]>
  /**
   * Records one attempt and what follows: `delivered` and `failed` take the delivery off the
   * queue (counting on the webhook), `retry` puts it back, due at `nextAttemptAt`.
   */
  finishAttempt(input: { delivery: QueuedDelivery; outcome: 'delivered' | 'failed' | 'retry'; nextAttemptAt: number; attempt: DeliveryAttempt }): Promise<void>
  /** The tenant's logged attempts, newest first. */
  listDeliveryAttempts(input: { tenant: string; limit: number; eventId: string | null }): Promise<DeliveryAttempt[]>
}

export interface NewWebhook {
  tenant: string
  url: string
  name: string
  /** Event names it receives (`all`: every one). */
  events: string[]
  /** The signing secret (the store must give it back: an HMAC key cannot be hashed). */
  secret: string
  createdAt: number
}

export interface WebhookRecord extends NewWebhook {
  id: number
  /** The secret before the last rotation, which receivers may still accept until it expires; never used to sign. */
  previousSecret: string | null
  previousSecretExpiresAt: number | null
  fireCount: number
  failCount: number
}

/** One event for one webhook, waiting in the outbox. The body is fixed when queued: every attempt sends the same bytes. */
export interface QueuedDelivery {
  /** `dlv_…`, unique. */
  id: string
  tenant: string
  webhookId: number
  eventId: string
  eventName: string
  body: string
  /** Attempts made so far. */
  attempts: number
  /** Epoch milliseconds when it is due (or its lease ends). */
  nextAttemptAt: number
}

/** One attempt, as `GET /v1/webhooks/deliveries` lists it. */
export interface DeliveryAttempt {
  deliveryId: string
  tenant: string
  webhookId: number
  eventId: string
  eventName: string
  webhookUrl: string
  /** 1, 2, … */
  attempt: number
  /** The receiver's status; 0 when none came (refused target, network error, timeout). */
  statusCode: number
  /** The start of the receiver's answer, at most 512 characters. */
  responseExcerpt: string
  error: string
  durationMs: number
  createdAt: number
}
