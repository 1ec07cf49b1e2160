import { postgresBackend } from '@haldir/postgres'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from '@haldir/postgres/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { haldirApiServer } from '../haldir-api/haldir-api.test-helper.ts'
import { verifyWebhookSignature, webhookReceiver } from './webhook-receiver.test-helper.ts'

const unavailable = await databaseUnavailable()
const schema = testSchema()
// Reads the outbox table directly, beside the servers (which close their own pools).
const probe = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 1 })

afterAll(async () => {
  await probe.close()
  if (!unavailable) await dropSchema(schema)
})

const server = () =>
  haldirApiServer({
    backend: postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema }),
    webhooks: { allowPrivateTargets: true, retryDelaysMs: [300, 300, 300], pollIntervalMs: 20 },
  })

async function outboxRows(): Promise<number> {
  return Number((await probe.pool.query<{ count: string }>(`select count(*) from ${schema}.webhook_outbox`)).rows[0]?.count)
}

describe.skipIf(unavailable)(`webhooks on PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('a delivery queued before a restart is sent by the next server over the same database', async () => {
    const receiver = await webhookReceiver({ statuses: [500] })
    try {
      const first = await server()
      const registered = await first.call<{ webhook_id: number; secret: string }>('POST', '/v1/webhooks', { body: { url: receiver.url, events: ['budget_exhausted'] } })
      expect(registered.status).toBe(201)
      const created = await first.call<{ session_id: string }>('POST', '/v1/sessions', { key: first.keys.agent, body: { agent_id: 'shopper', scopes: ['read', 'spend:5'] } })
      expect((await first.call('POST', '/v1/payments/authorize', { key: first.keys.agent, body: { session_id: created.body.session_id, amount: 10 } })).status).toBe(403)
      // The receiver is down (500): the delivery waits in the outbox for its retry, and the server stops.
      await receiver.until(1)
      await expect.poll(async () => (await first.call<{ deliveries: { status_code: number }[] }>('GET', '/v1/webhooks/deliveries')).body.deliveries.map((delivery) => delivery.status_code)).toEqual([500])
      await first.close()
      expect(await outboxRows()).toBe(1)

      receiver.answer(200)
      const second = await server()
      try {
        const [failed, delivered] = await receiver.until(2)
        expect(delivered?.headers['x-haldir-delivery-attempt']).toBe('2')
        expect(delivered?.body).toBe(failed?.body)
        expect(verifyWebhookSignature(delivered?.body ?? '', delivered?.headers['x-haldir-signature'] as string, delivered?.headers['x-haldir-timestamp'] as string, registered.body.secret)).toBe(true)
        expect(JSON.parse(delivered?.body ?? '{}')).toMatchObject({ event: 'budget_exhausted', session_id: created.body.session_id })
        await expect.poll(outboxRows).toBe(0)
        const log = await second.call<{ deliveries: { attempt: number; status_code: number }[] }>('GET', '/v1/webhooks/deliveries')
        expect(log.body.deliveries.map((delivery) => [delivery.attempt, delivery.status_code])).toEqual([
          [2, 200],
          [1, 500],
        ])
        const listed = await second.call<{ webhooks: Record<string, unknown>[] }>('GET', '/v1/webhooks')
        expect(listed.body.webhooks).toEqual([expect.objectContaining({ webhook_id: registered.body.webhook_id, fire_count: 1, fail_count: 0 })])
        expect(JSON.stringify(listed.body)).not.toContain(registered.body.secret)
        // Another tenant sees none of it.
        expect((await second.call<{ webhooks: unknown[] }>('GET', '/v1/webhooks', { key: second.globex })).body.webhooks).toEqual([])
        expect((await second.call<{ deliveries: unknown[] }>('GET', '/v1/webhooks/deliveries', { key: second.globex })).body.deliveries).toEqual([])
      } finally {
        await second.close()
      }
    } finally {
      await receiver.close()
    }
  })
})
