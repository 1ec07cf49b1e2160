import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { webhookReceiver, verifyWebhookSignature } from '../../webhooks/webhook-receiver.test-helper.ts'
import { type HaldirApiServer, haldirApiServer } from '../haldir-api.test-helper.ts'

type Registered = { registered: boolean; webhook_id: number; url: string; events: string[]; secret: string | null; message: string }

let api: HaldirApiServer
// The receivers here are on loopback, so this server allows private targets; `strict` does not.
let strict: HaldirApiServer
beforeAll(async () => {
  api = await haldirApiServer({ webhooks: { allowPrivateTargets: true, retryDelaysMs: [50, 100], pollIntervalMs: 20, timeoutMs: 500 } })
  strict = await haldirApiServer()
})
afterAll(async () => {
  await api.close()
  await strict.close()
})

async function session(server: HaldirApiServer, key: string, spend = 5) {
  const created = await server.call<{ session_id: string }>('POST', '/v1/sessions', { key, body: { agent_id: 'shopper', scopes: ['read', `spend:${spend}`] } })
  expect(created.status).toBe(201)
  return created.body.session_id
}

/** A payment over the session's budget: the gate refuses it, raising `call.denied` and `budget.exhausted`. */
async function overspend(server: HaldirApiServer, key: string) {
  const sessionId = await session(server, key, 5)
  const paid = await server.call('POST', '/v1/payments/authorize', { key, body: { session_id: sessionId, amount: 10 } })
  expect(paid.status).toBe(403)
  return sessionId
}

describe('signed webhooks over the Haldir API (HALDIR-API.md §14), per tenant', () => {
  it('signs every delivery as upstream verify_webhook_signature expects, and retries after 500s with the same body', async () => {
    const receiver = await webhookReceiver({ statuses: [500, 503, 200] })
    try {
      const registered = await api.call<Registered>('POST', '/v1/webhooks', { body: { url: receiver.url, name: 'alerts', events: ['budget_exhausted'] } })
      expect(registered).toMatchObject({ status: 201, body: { registered: true, webhook_id: expect.any(Number), url: receiver.url, events: ['budget_exhausted'], message: "Save the secret — it won't be shown again." } })
      const secret = registered.body.secret as string
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)

      const sessionId = await overspend(api, api.keys.agent)
      const attempts = await receiver.until(3)
      expect(attempts.map((attempt) => attempt.headers['x-haldir-delivery-attempt'])).toEqual(['1', '2', '3'])
      for (const attempt of attempts) {
        expect(verifyWebhookSignature(attempt.body, attempt.headers['x-haldir-signature'] as string, attempt.headers['x-haldir-timestamp'] as string, secret)).toBe(true)
        expect(attempt.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'Haldir/0.3.0', 'x-haldir-event': 'budget_exhausted' })
        // The same bytes every time: a receiver drops repeats by event_id.
        expect(attempt.body).toBe(attempts[0]?.body)
      }
      // A wrong secret, a changed body or a stale timestamp do not verify.
      const first = attempts[0] as (typeof attempts)[number]
      expect(verifyWebhookSignature(first.body, first.headers['x-haldir-signature'] as string, first.headers['x-haldir-timestamp'] as string, 'x'.repeat(43))).toBe(false)
      expect(verifyWebhookSignature(`${first.body} `, first.headers['x-haldir-signature'] as string, first.headers['x-haldir-timestamp'] as string, secret)).toBe(false)
      expect(verifyWebhookSignature(first.body, first.headers['x-haldir-signature'] as string, first.headers['x-haldir-timestamp'] as string, secret, { now: Date.now() / 1000 + 301 })).toBe(false)
      const body = JSON.parse(first.body) as Record<string, unknown>
      expect(body).toMatchObject({ session_id: sessionId, agent_id: 'shopper', spent: 0, limit: 5, event: 'budget_exhausted', event_id: first.headers['x-haldir-webhook-id'], source: 'haldir', type: 'budget.exhausted' })
      expect(Math.abs((body.timestamp as number) - Date.now() / 1000)).toBeLessThan(30)

      // Three attempts logged, newest first; the webhook counts one delivery.
      const log = await vi.waitFor(async () => {
        const answer = await api.call<{ deliveries: { attempt: number; status_code: number }[] }>('GET', `/v1/webhooks/deliveries?event_id=${body.event_id}`, { key: api.keys.auditor })
        expect(answer.body.deliveries).toHaveLength(3)
        return answer
      })
      expect(log.body.deliveries.map((delivery) => [delivery.attempt, delivery.status_code])).toEqual([
        [3, 200],
        [2, 503],
        [1, 500],
      ])
      const listed = await api.call<{ webhooks: Record<string, unknown>[] }>('GET', '/v1/webhooks', { key: api.keys.auditor })
      expect(listed.body.webhooks.find((webhook) => webhook.webhook_id === registered.body.webhook_id)).toMatchObject({ fire_count: 1, fail_count: 0, signed: true, active: true })
      // The secret is in the registration answer and nowhere else.
      expect(JSON.stringify(listed.body)).not.toContain(secret)
      expect(JSON.stringify(log.body)).not.toContain(secret)
      expect((await api.call('DELETE', `/v1/webhooks/${registered.body.webhook_id}`)).body).toEqual({ deleted: true, webhook_id: registered.body.webhook_id })
    } finally {
      await receiver.close()
    }
  })

  it('gives up after the last retry, counts the failure, and a 4xx is not retried', async () => {
    const receiver = await webhookReceiver({ statuses: [500] })
    try {
      const registered = await api.call<Registered>('POST', '/v1/webhooks', { body: { url: receiver.url, events: ['call.denied'] } })
      await overspend(api, api.keys.agent)
      await receiver.until(3)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(receiver.received).toHaveLength(3)
      receiver.answer(404)
      await overspend(api, api.keys.agent)
      await receiver.until(4)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(receiver.received).toHaveLength(4)
      const listed = await api.call<{ webhooks: Record<string, unknown>[] }>('GET', '/v1/webhooks')
      expect(listed.body.webhooks.find((webhook) => webhook.webhook_id === registered.body.webhook_id)).toMatchObject({ fire_count: 0, fail_count: 2 })
      await api.call('DELETE', `/v1/webhooks/${registered.body.webhook_id}`)
    } finally {
      await receiver.close()
    }
  })

  it("tenant B never sees, changes or receives tenant A's webhooks and events", async () => {
    const acme = await webhookReceiver()
    const globex = await webhookReceiver()
    try {
      const mine = await api.call<Registered>('POST', '/v1/webhooks', { body: { url: acme.url } })
      const theirs = await api.call<Registered>('POST', '/v1/webhooks', { key: api.globex, body: { url: globex.url } })
      expect(theirs.status).toBe(201)
      const listed = await api.call<{ webhooks: { url: string }[] }>('GET', '/v1/webhooks', { key: api.globex })
      expect(listed.body.webhooks.map((webhook) => webhook.url)).toEqual([globex.url])
      expect((await api.call('POST', `/v1/webhooks/${mine.body.webhook_id}/rotate-secret`, { key: api.globex })).body).toMatchObject({ code: 'not_found' })
      expect((await api.call('DELETE', `/v1/webhooks/${mine.body.webhook_id}`, { key: api.globex })).status).toBe(404)

      const sessionId = await overspend(api, api.keys.agent)
      await acme.until(2)
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(globex.received).toHaveLength(0)
      expect((await api.call<{ deliveries: unknown[] }>('GET', '/v1/webhooks/deliveries', { key: api.globex })).body.deliveries).toEqual([])
      expect(acme.received.map((request) => (JSON.parse(request.body) as { session_id: string }).session_id)).toEqual([sessionId, sessionId])

      // And the other way: globex's events reach globex only.
      await overspend(api, api.globex)
      await globex.until(2)
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(acme.received).toHaveLength(2)
      await api.call('DELETE', `/v1/webhooks/${mine.body.webhook_id}`)
      await api.call('DELETE', `/v1/webhooks/${theirs.body.webhook_id}`, { key: api.globex })
    } finally {
      await acme.close()
      await globex.close()
    }
  })

  it('rotates the secret: later deliveries are signed with the new one only; the old one is returned for the grace period', async () => {
    const receiver = await webhookReceiver()
    try {
      const registered = await api.call<Registered>('POST', '/v1/webhooks', { body: { url: receiver.url, events: ['session.revoked'] } })
      const rotated = await api.call<{ webhook_id: number; secret: string; secret_prev: string; secret_prev_expires_at: number; grace_seconds: number }>(
        'POST',
        `/v1/webhooks/${registered.body.webhook_id}/rotate-secret?grace_seconds=5`,
      )
      expect(rotated.body).toMatchObject({ webhook_id: registered.body.webhook_id, secret_prev: registered.body.secret, grace_seconds: 60 })
      expect(rotated.body.secret).not.toBe(registered.body.secret)
      const sessionId = await session(api, api.keys.agent)
      expect((await api.call('DELETE', `/v1/sessions/${sessionId}`, { key: api.keys.agent })).status).toBe(200)
      const [delivery] = await receiver.until(1)
      const check = (secrets: string | string[]) => verifyWebhookSignature(delivery?.body ?? '', delivery?.headers['x-haldir-signature'] as string, delivery?.headers['x-haldir-timestamp'] as string, secrets)
      expect(check(rotated.body.secret)).toBe(true)
      expect(check(registered.body.secret as string)).toBe(false)
      // A receiver in its grace period accepts either.
      expect(check([registered.body.secret as string, rotated.body.secret])).toBe(true)
      expect((await api.call('POST', '/v1/webhooks/999999/rotate-secret')).status).toBe(404)
      await api.call('DELETE', `/v1/webhooks/${registered.body.webhook_id}`)
    } finally {
      await receiver.close()
    }
  })

  it('sends approval_requested under upstream\'s name and fields, and approval.decided under ours', async () => {
    const receiver = await webhookReceiver()
    try {
      const registered = await api.call<Registered>('POST', '/v1/webhooks', { body: { url: receiver.url, events: ['approval_requested', 'approval.decided'] } })
      const sessionId = await session(api, api.keys.agent)
      const requested = await api.call<{ request_id: string }>('POST', '/v1/approvals/request', { key: api.keys.agent, body: { session_id: sessionId, tool: 'purchase', action: 'buy', amount: 2, reason: 'a $2 license' } })
      expect(requested.status).toBe(201)
      expect((await api.call('POST', `/v1/approvals/${requested.body.request_id}/approve`, { key: api.keys.approver, body: { decided_by: 'alice' } })).status).toBe(200)
      const [asked, decided] = await receiver.until(2)
      expect(asked?.headers['x-haldir-event']).toBe('approval_requested')
      expect(JSON.parse(asked?.body ?? '{}')).toMatchObject({ request_id: requested.body.request_id, agent_id: 'shopper', tool: 'purchase', action: 'buy', amount: 2, reason: 'a $2 license', event: 'approval_requested' })
      expect(JSON.parse(decided?.body ?? '{}')).toMatchObject({ event: 'approval.decided', session_id: sessionId, data: { approvalId: requested.body.request_id, status: 'approved', decidedBy: 'alice' } })
      await api.call('DELETE', `/v1/webhooks/${registered.body.webhook_id}`)
    } finally {
      await receiver.close()
    }
  })

  it('refuses bad input and the wrong key before storing anything', async () => {
    const before = (await api.call<{ webhooks: unknown[] }>('GET', '/v1/webhooks')).body.webhooks.length
    expect(await api.call('POST', '/v1/webhooks', { body: {} })).toMatchObject({ status: 400, body: { error: 'url is required' } })
    expect(await api.call('POST', '/v1/webhooks', { body: { url: 'ftp://example.com/x' } })).toMatchObject({ status: 400, body: { code: 'invalid_request', field: 'url' } })
    expect(await api.call('POST', '/v1/webhooks', { body: { url: 'http://user:pw@127.0.0.1/x' } })).toMatchObject({ status: 400, body: { field: 'url' } })
    expect(await api.call('POST', '/v1/webhooks', { body: { url: 'http://127.0.0.1/x', events: ['budget_exhausted', 'nope'] } })).toMatchObject({ status: 400, body: { code: 'invalid_request', field: 'events' } })
    expect(await api.call('POST', '/v1/webhooks', { body: { url: 'http://127.0.0.1/x', events: 'all' } })).toMatchObject({ status: 400, body: { field: 'events' } })
    expect(await api.call('POST', '/v1/webhooks', { key: api.keys.agent, body: { url: 'http://127.0.0.1/x' } })).toMatchObject({ status: 403, body: { code: 'forbidden' } })
    expect((await api.call('GET', '/v1/webhooks', { key: api.keys.agent })).status).toBe(403)
    expect((await api.call('GET', '/v1/webhooks/deliveries?limit=abc')).status).toBe(400)
    expect((await api.call('POST', '/v1/webhooks/1/rotate-secret?grace_seconds=x')).status).toBe(400)
    expect((await api.call<{ webhooks: unknown[] }>('GET', '/v1/webhooks')).body.webhooks).toHaveLength(before)
  })

  it('an idempotent replay of a registration is the same webhook, without the secret', async () => {
    const headers = { 'Idempotency-Key': 'register-once' }
    const first = await api.call<Registered>('POST', '/v1/webhooks', { headers, body: { url: 'http://127.0.0.1:9/never' } })
    const again = await api.call<Registered>('POST', '/v1/webhooks', { headers, body: { url: 'http://127.0.0.1:9/never' } })
    expect(first.body.secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(again).toMatchObject({ status: 201, body: { webhook_id: first.body.webhook_id, secret: null } })
    await api.call('DELETE', `/v1/webhooks/${first.body.webhook_id}`)
  })

  it('a receiver that never answers does not slow the gate', async () => {
    const receiver = await webhookReceiver()
    receiver.state.hang = true
    try {
      const registered = await api.call<Registered>('POST', '/v1/webhooks', { body: { url: receiver.url } })
      const sessionId = await session(api, api.keys.agent)
      await overspend(api, api.keys.agent)
      await receiver.until(1)
      // Deliveries hang until their timeout; governed calls meanwhile answer at once.
      const started = performance.now()
      for (let index = 0; index < 5; index++) expect((await api.call('POST', '/v1/payments/authorize', { key: api.keys.agent, body: { session_id: sessionId, amount: 0.5 } })).status).toBe(200)
      expect(performance.now() - started).toBeLessThan(400)
      await api.call('DELETE', `/v1/webhooks/${registered.body.webhook_id}`)
    } finally {
      await receiver.close()
    }
  })
})

describe('webhook targets (SSRF)', () => {
  it('refuses loopback, private, link-local and mapped addresses, by what a name resolves to, unless allowed', async () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://10.1.2.3/', 'http://192.168.0.10/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[fd00::1]/', 'http://0.0.0.0/']) {
      const refused = await strict.call('POST', '/v1/webhooks', { body: { url } })
      expect(refused, url).toMatchObject({ status: 400, body: { code: 'invalid_request', field: 'url' } })
    }
    expect((await strict.call<{ webhooks: unknown[] }>('GET', '/v1/webhooks')).body.webhooks).toEqual([])
  })
})
