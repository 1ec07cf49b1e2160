import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HaldirApiServer, haldirApiServer } from '../haldir-api/haldir-api.test-helper.ts'
import { verifyWebhookSignature, webhookReceiver } from './webhook-receiver.test-helper.ts'

let api: HaldirApiServer
let strict: HaldirApiServer
beforeAll(async () => {
  api = await haldirApiServer({ webhooks: { allowPrivateTargets: true, pollIntervalMs: 20 } })
  strict = await haldirApiServer()
})
afterAll(async () => {
  await api.close()
  await strict.close()
})

describe('native webhook routes (/native/v1/webhooks)', () => {
  it('registers (secret once), lists without secrets, delivers signed events, rotates and removes, per tenant', async () => {
    const receiver = await webhookReceiver()
    try {
      const created = await api.call<{ webhook: { id: number; url: string; events: string[] }; secret: string }>('POST', '/native/v1/webhooks', { body: { url: receiver.url, events: ['session.revoked'] } })
      expect(created).toMatchObject({ status: 201, body: { webhook: { url: receiver.url, events: ['session.revoked'], fireCount: 0 }, secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) } })
      expect(created.body.webhook).not.toHaveProperty('secret')
      const listed = await api.call<{ webhooks: Record<string, unknown>[] }>('GET', '/native/v1/webhooks', { key: api.keys.auditor })
      expect(listed.body.webhooks).toEqual([expect.objectContaining({ id: created.body.webhook.id })])
      expect(JSON.stringify(listed.body)).not.toContain(created.body.secret)

      const session = await api.call<{ session_id: string }>('POST', '/v1/sessions', { key: api.keys.agent, body: { agent_id: 'a', scopes: ['read'] } })
      await api.call('DELETE', `/v1/sessions/${session.body.session_id}`, { key: api.keys.agent })
      const [delivery] = await receiver.until(1)
      expect(verifyWebhookSignature(delivery?.body ?? '', delivery?.headers['x-haldir-signature'] as string, delivery?.headers['x-haldir-timestamp'] as string, created.body.secret)).toBe(true)
      expect(JSON.parse(delivery?.body ?? '{}')).toMatchObject({ event: 'session.revoked', type: 'session.revoked', session_id: session.body.session_id })

      expect((await api.call('GET', '/native/v1/webhooks', { key: api.globex })).body).toEqual({ webhooks: [] })
      expect(await api.call('DELETE', `/native/v1/webhooks/${created.body.webhook.id}`, { key: api.globex })).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } })
      expect(await api.call('POST', '/native/v1/webhooks', { key: api.keys.agent, body: { url: receiver.url } })).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } })
      const rotated = await api.call<{ secret: string; previousSecret: string; graceSeconds: number }>('POST', `/native/v1/webhooks/${created.body.webhook.id}/rotate-secret?graceSeconds=120`)
      expect(rotated.body).toMatchObject({ previousSecret: created.body.secret, graceSeconds: 120 })
      expect(await api.call('DELETE', `/native/v1/webhooks/${created.body.webhook.id}`)).toMatchObject({ status: 200, body: { ok: true } })
      expect((await api.call('GET', '/native/v1/webhooks')).body).toEqual({ webhooks: [] })
    } finally {
      await receiver.close()
    }
  })

  it('refuses bad input and private targets with a typed error, storing nothing', async () => {
    expect(await api.call('POST', '/native/v1/webhooks', { body: { url: 'http://127.0.0.1/x', events: ['nope'] } })).toMatchObject({ status: 400, body: { error: { code: 'validation_error' } } })
    expect(await api.call('POST', '/native/v1/webhooks', { body: {} })).toMatchObject({ status: 400, body: { error: { code: 'validation_error' } } })
    expect(await strict.call('POST', '/native/v1/webhooks', { body: { url: 'http://169.254.169.254/latest' } })).toMatchObject({ status: 400, body: { error: { code: 'validation_error' } } })
    expect((await strict.call('GET', '/native/v1/webhooks')).body).toEqual({ webhooks: [] })
    expect((await api.call('GET', '/native/v1/webhooks')).body).toEqual({ webhooks: [] })
  })
})
