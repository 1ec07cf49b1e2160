import type { DeliveryAttempt, QueuedDelivery, WebhookRecord, WebhookStore } from '@haldir/core/backend'
import type { Pool } from 'pg'
import { toBackendError } from './to-backend-error.ts'

/** Attempts kept per tenant in the log; older ones are pruned now and then. */
const ATTEMPTS_PER_TENANT = 10_000
/** Prune a tenant's log once every this many attempts it records (in this process). */
const PRUNE_EVERY = 200

interface WebhookRow {
  id: string
  tenant: string
  url: string
  name: string
  events: string[]
  secret: string
  previous_secret: string | null
  previous_secret_expires_at_ms: string | null
  fire_count: string
  fail_count: string
  created_at_ms: string
}

interface OutboxRow {
  id: string
  tenant: string
  webhook_id: string
  event_id: string
  event_name: string
  body: string
  attempts: number
  next_attempt_at_ms: string
}

interface AttemptRow {
  delivery_id: string
  tenant: string
  webhook_id: string
  event_id: string
  event_name: string
  webhook_url: string
  attempt: number
  status_code: number
  response_excerpt: string
  error: string
  duration_ms: number
  created_at_ms: string
}

const toWebhook = (row: WebhookRow): WebhookRecord => ({
  id: Number(row.id),
  tenant: row.tenant,
  url: row.url,
  name: row.name,
  events: row.events,
  secret: row.secret,
  previousSecret: row.previous_secret,
  previousSecretExpiresAt: row.previous_secret_expires_at_ms === null ? null : Number(row.previous_secret_expires_at_ms),
  fireCount: Number(row.fire_count),
  failCount: Number(row.fail_count),
  createdAt: Number(row.created_at_ms),
})

const toDelivery = (row: OutboxRow): QueuedDelivery => ({
  id: row.id,
  tenant: row.tenant,
  webhookId: Number(row.webhook_id),
  eventId: row.event_id,
  eventName: row.event_name,
  body: row.body,
  attempts: row.attempts,
  nextAttemptAt: Number(row.next_attempt_at_ms),
})

const toAttempt = (row: AttemptRow): DeliveryAttempt => ({
  deliveryId: row.delivery_id,
  tenant: row.tenant,
  webhookId: Number(row.webhook_id),
  eventId: row.event_id,
  eventName: row.event_name,
  webhookUrl: row.webhook_url,
  attempt: row.attempt,
  statusCode: row.status_code,
  responseExcerpt: row.response_excerpt,
  error: row.error,
  durationMs: row.duration_ms,
  createdAt: Number(row.created_at_ms),
})

/**
 * Webhooks, their outbox and the attempt log in PostgreSQL (migration 6): queued deliveries
 * outlive the process, and several server processes share one outbox (a due row is leased with
 * `for update skip locked`, so exactly one of them sends each attempt). Each change is one
 * statement, so an attempt's log line and its outcome are written together.
 */
export function postgresWebhookStore(options: { pool: Pool; schema: string; ready: () => Promise<unknown> }): WebhookStore {
  const { pool } = options
  const s = options.schema
  const recorded = new Map<string, number>()
  async function query<Row extends object>(doing: string, text: string, values: unknown[] = []): Promise<Row[]> {
    try {
      await options.ready()
      return (await pool.query<Row>(text, values)).rows
    } catch (error) {
      throw toBackendError(error, doing)
    }
  }
  return {
    async addWebhook(input) {
      const [row] = await query<WebhookRow>(
        'registering a webhook',
        `insert into ${s}.webhooks (tenant, url, name, events, secret, created_at_ms) values ($1, $2, $3, $4, $5, $6) returning *`,
        [input.tenant, input.url, input.name, input.events, input.secret, input.createdAt],
      )
      return toWebhook(row as WebhookRow)
    },
    async listWebhooks(tenant) {
      return (await query<WebhookRow>('listing webhooks', `select * from ${s}.webhooks where tenant = $1 order by id`, [tenant])).map(toWebhook)
    },
    async getWebhook(tenant, webhookId) {
      const [row] = await query<WebhookRow>('reading a webhook', `select * from ${s}.webhooks where tenant = $1 and id = $2`, [tenant, webhookId])
      return row ? toWebhook(row) : null
    },
    async removeWebhook(tenant, webhookId) {
      // Its queued deliveries go with it (on delete cascade).
      const rows = await query<{ id: string }>('removing a webhook', `delete from ${s}.webhooks where tenant = $1 and id = $2 returning id`, [tenant, webhookId])
      return rows.length > 0
    },
    async rotateWebhookSecret({ tenant, webhookId, secret, previousSecretExpiresAt }) {
      const [row] = await query<WebhookRow>(
        'rotating a webhook secret',
        `update ${s}.webhooks set previous_secret = secret, secret = $3, previous_secret_expires_at_ms = $4 where tenant = $1 and id = $2 returning *`,
        [tenant, webhookId, secret, previousSecretExpiresAt],
      )
      return row ? toWebhook(row) : null
    },
    async enqueueDeliveries(deliveries) {
      if (deliveries.length === 0) return
      await query(
        'queueing webhook deliveries',
        `insert into ${s}.webhook_outbox (id, tenant, webhook_id, event_id, event_name, body, attempts, next_attempt_at_ms)
         select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[])
         on conflict (id) do nothing`,
        [
          deliveries.map((delivery) => delivery.id),
          deliveries.map((delivery) => delivery.tenant),
          deliveries.map((delivery) => delivery.webhookId),
          deliveries.map((delivery) => delivery.eventId),
          deliveries.map((delivery) => delivery.eventName),
          deliveries.map((delivery) => delivery.body),
          deliveries.map((delivery) => delivery.attempts),
          deliveries.map((delivery) => delivery.nextAttemptAt),
        ],
      )
    },
    async claimDueDeliveries({ now, limit, leaseUntil }) {
      const rows = await query<OutboxRow>(
        'claiming webhook deliveries',
        `update ${s}.webhook_outbox set next_attempt_at_ms = $3
         where id in (select id from ${s}.webhook_outbox where next_attempt_at_ms <= $1 order by next_attempt_at_ms limit $2 for update skip locked)
         returning *`,
        [now, limit, leaseUntil],
      )
      return rows.map(toDelivery)
    },
    async finishAttempt({ delivery, outcome, nextAttemptAt, attempt }) {
      const log = `insert into ${s}.webhook_deliveries (delivery_id, tenant, webhook_id, event_id, event_name, webhook_url, attempt, status_code, response_excerpt, error, duration_ms, created_at_ms)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
      const values = [
        attempt.deliveryId,
        attempt.tenant,
        attempt.webhookId,
        attempt.eventId,
        attempt.eventName,
        attempt.webhookUrl,
        attempt.attempt,
        attempt.statusCode,
        attempt.responseExcerpt,
        attempt.error,
        attempt.durationMs,
        attempt.createdAt,
      ]
      if (outcome === 'retry') {
        await query('recording a webhook attempt', `with logged as (${log}) update ${s}.webhook_outbox set attempts = $13, next_attempt_at_ms = $14 where id = $1`, [...values, delivery.attempts + 1, nextAttemptAt])
      } else {
        await query(
          'recording a webhook attempt',
          `with logged as (${log}), gone as (delete from ${s}.webhook_outbox where id = $1 returning webhook_id)
           update ${s}.webhooks set fire_count = fire_count + $13, fail_count = fail_count + $14 where id in (select webhook_id from gone)`,
          [...values, outcome === 'delivered' ? 1 : 0, outcome === 'failed' ? 1 : 0],
        )
      }
      const count = (recorded.get(attempt.tenant) ?? 0) + 1
      recorded.set(attempt.tenant, count % PRUNE_EVERY)
      if (count % PRUNE_EVERY === 0) {
        await query(
          'pruning the webhook attempt log',
          `delete from ${s}.webhook_deliveries where tenant = $1 and position < (select position from ${s}.webhook_deliveries where tenant = $1 order by position desc offset $2 limit 1)`,
          [attempt.tenant, ATTEMPTS_PER_TENANT],
        )
      }
    },
    async listDeliveryAttempts({ tenant, limit, eventId }) {
      const rows = await query<AttemptRow>(
        'listing webhook deliveries',
        `select * from ${s}.webhook_deliveries where tenant = $1 and ($2::text is null or event_id = $2) order by position desc limit $3`,
        [tenant, eventId, limit],
      )
      return rows.map(toAttempt)
    },
  }
}
