import { randomBytes } from 'node:crypto'
import { type HaldirBackend, type HaldirEvent, type QueuedDelivery, type WebhookRecord, type WebhookStore, ValidationError } from '@haldir/core/backend'
import type { FailureLog } from '../failure-log.ts'
import { postWebhook, type PostOutcome } from './post-webhook.ts'
import { signWebhook } from './sign-webhook.ts'
import { webhookBody, webhookEventName, webhookWants } from './webhook-payload.ts'
import { resolveWebhookTarget } from './webhook-target.ts'

export interface WebhookDeliveryOptions {
  /**
   * Deliver to loopback, private and link-local addresses too. Off, a webhook whose host
   * resolves to any such address is refused at registration and at every delivery. For tests
   * and receivers on a private network you run. @default false
   */
  allowPrivateTargets?: boolean
  /** How long one attempt may take, connection to answer. @default 10_000 */
  timeoutMs?: number
  /**
   * The waits before each retry; one more attempt than there are entries. An attempt is retried
   * on a 5xx, 408, 429, or no answer (network error, timeout); any other non-2xx ends the
   * delivery as failed. @default [1_000, 4_000, 30_000, 300_000, 1_800_000]
   */
  retryDelaysMs?: readonly number[]
  /**
   * How often the outbox is looked at for deliveries that came due (retries, rows other servers
   * queued, and at the first tick after a start, what was queued before it). @default 1_000
   */
  pollIntervalMs?: number
  /** Deliveries in flight at once, across tenants. @default 8 */
  concurrency?: number
}

export interface WebhookDispatcher {
  /** Whether the backend reports events (`subscribe`); without it nothing would ever be sent. */
  readonly listens: boolean
  /** Listens to the tenant's events from now on (the server calls it on each tenant's requests; once per tenant counts). */
  watch(tenant: string): void
  /** Forgets what is cached of the tenant's webhooks (after a change through this server). */
  changed(tenant: string): void
  /** Resolves when the outbox has been looked at once more (tests and shutdown). */
  flush(): Promise<void>
  /** Stops listening and polling; ends the attempts in flight (recorded, retried from the outbox later) and waits for them to be recorded. */
  close(): Promise<void>
}

const DEFAULT_DELAYS = [1_000, 4_000, 30_000, 300_000, 1_800_000] as const
// How long the list of a tenant's webhooks is reused: registrations through another server
// process reach this one's events within that time.
const WEBHOOK_CACHE_MS = 2_000

/**
 * Sends the events of every tenant with a webhook, off the request path. An event (from the
 * backend's in-process bus, after its change is applied) becomes one outbox row per webhook of
 * **its own tenant** that wants it, body fixed; senders lease due rows from the store, sign each
 * attempt afresh (`signWebhook`), connect only to a checked public address (`resolveWebhookTarget`),
 * and retry with backoff. A slow or dead receiver costs a bounded number of in-flight attempts,
 * never a governed call's time.
 */
export function webhookDispatcher(options: WebhookDeliveryOptions & { backend: HaldirBackend; store: WebhookStore; failures: FailureLog }): WebhookDispatcher {
  const { backend, store, failures } = options
  // The store is the backend's database (or memory): its failures are backend failures, logged
  // once per burst with the server's others, never once per poll.
  const failed = (error: unknown) => failures.backend(error)
  const allowPrivate = options.allowPrivateTargets ?? false
  const timeoutMs = options.timeoutMs ?? 10_000
  const delays = options.retryDelaysMs ?? DEFAULT_DELAYS
  const concurrency = options.concurrency ?? 8
  const maxAttempts = delays.length + 1
  const unsubscribes = new Map<string, () => void>()
  const cache = new Map<string, { webhooks: Promise<WebhookRecord[]>; until: number }>()
  const inFlight = new Set<Promise<void>>()
  let closed = false
  const stopping = new AbortController()
  let claiming: Promise<void> | null = null
  // Asked to pump while a claim was running: claim once more after it (a row queued meanwhile is not left for the next poll).
  let again = false

  const webhooksOf = (tenant: string) => {
    const cached = cache.get(tenant)
    if (cached && cached.until > Date.now()) return cached.webhooks
    const webhooks = store.listWebhooks(tenant)
    cache.set(tenant, { webhooks, until: Date.now() + WEBHOOK_CACHE_MS })
    webhooks.catch(() => cache.delete(tenant))
    return webhooks
  }

  async function queue(event: HaldirEvent): Promise<void> {
    const wanting = (await webhooksOf(event.tenant)).filter((webhook) => webhook.tenant === event.tenant && webhookWants(webhook.events, event))
    if (wanting.length === 0) return
    const body = webhookBody(event)
    const now = Date.now()
    await store.enqueueDeliveries(
      wanting.map((webhook) => ({ id: `dlv_${randomBytes(16).toString('base64url')}`, tenant: event.tenant, webhookId: webhook.id, eventId: event.id, eventName: webhookEventName(event), body, attempts: 0, nextAttemptAt: now })),
    )
    pump()
  }

  // Fills free delivery slots with due rows; runs again as each attempt ends.
  function pump(): void {
    if (closed || inFlight.size >= concurrency) return
    if (claiming) {
      again = true
      return
    }
    claiming = (async () => {
      try {
        const now = Date.now()
        const due = await store.claimDueDeliveries({ now, limit: concurrency - inFlight.size, leaseUntil: now + timeoutMs + 30_000 })
        for (const delivery of due) {
          const attempt: Promise<void> = deliver(delivery)
            .catch(failed)
            .finally(() => {
              inFlight.delete(attempt)
              pump()
            })
          inFlight.add(attempt)
        }
      } catch (error) {
        failed(error)
      } finally {
        claiming = null
        if (again) {
          again = false
          pump()
        }
      }
    })()
  }

  async function deliver(delivery: QueuedDelivery): Promise<void> {
    const attempt = delivery.attempts + 1
    const webhook = await store.getWebhook(delivery.tenant, delivery.webhookId)
    const record = (outcome: PostOutcome, webhookUrl: string) => ({ deliveryId: delivery.id, tenant: delivery.tenant, webhookId: delivery.webhookId, eventId: delivery.eventId, eventName: delivery.eventName, webhookUrl, attempt, ...outcome, createdAt: Date.now() })
    if (!webhook) {
      await store.finishAttempt({ delivery, outcome: 'failed', nextAttemptAt: 0, attempt: record({ statusCode: 0, responseExcerpt: '', error: 'the webhook was removed', durationMs: 0 }, '') })
      return
    }
    let outcome: PostOutcome
    let retryable = true
    try {
      const target = await resolveWebhookTarget(webhook.url, { allowPrivate })
      const timestamp = Math.floor(Date.now() / 1000)
      outcome = await postWebhook(target, {
        body: delivery.body,
        timeoutMs,
        signal: stopping.signal,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Haldir/0.3.0',
          'X-Haldir-Event': delivery.eventName,
          'X-Haldir-Timestamp': String(timestamp),
          // Upstream's name; it carries the event id (a receiver drops repeats by it).
          'X-Haldir-Webhook-Id': delivery.eventId,
          'X-Haldir-Delivery-Attempt': String(attempt),
          'X-Haldir-Signature': signWebhook(webhook.secret, timestamp, delivery.body),
        },
      })
    } catch (error) {
      // A host that no longer resolves may come back; one that resolves to a private address is refused for good.
      const message = ValidationError.isInstance(error) ? (error.issues[0]?.message ?? error.message) : String(error)
      retryable = /does not resolve/.test(message)
      outcome = { statusCode: 0, responseExcerpt: '', error: message.slice(0, 200), durationMs: 0 }
    }
    const status = outcome.statusCode
    const delivered = status >= 200 && status < 300
    retryable &&= status === 0 || status >= 500 || status === 408 || status === 429
    const next = delivered ? 'delivered' : retryable && attempt < maxAttempts ? 'retry' : 'failed'
    await store.finishAttempt({ delivery, outcome: next, nextAttemptAt: Date.now() + (delays[attempt - 1] ?? 0), attempt: record(outcome, webhook.url) })
  }

  const poll = setInterval(pump, options.pollIntervalMs ?? 1_000)
  poll.unref()

  const dispatcher: WebhookDispatcher = {
    listens: typeof backend.subscribe === 'function',
    watch(tenant) {
      if (closed || unsubscribes.has(tenant) || !backend.subscribe) return
      unsubscribes.set(
        tenant,
        backend.subscribe({ tenant }, (event) => {
          queue(event).catch(failed)
        }),
      )
    },
    changed(tenant) {
      cache.delete(tenant)
    },
    async flush() {
      pump()
      await claiming
      await Promise.all([...inFlight])
    },
    async close() {
      closed = true
      clearInterval(poll)
      for (const unsubscribe of unsubscribes.values()) unsubscribe()
      unsubscribes.clear()
      stopping.abort()
      await claiming
      await Promise.all([...inFlight])
    },
  }
  return dispatcher
}
