import { createHaldir, memoryBackend } from '@haldir/core'
import { describe, expect, it } from 'vitest'
import { failureLog } from '../failure-log.ts'
import { memoryWebhookStore } from './memory-webhook-store.ts'
import { webhookDispatcher } from './webhook-dispatcher.ts'
import { webhookReceiver } from './webhook-receiver.test-helper.ts'
import { isPublicAddress, resolveWebhookTarget } from './webhook-target.ts'

describe('isPublicAddress', () => {
  it('refuses loopback, private, shared, link-local, multicast and reserved ranges, also inside IPv6', () => {
    for (const address of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.0.1', '169.254.169.254', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd12::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a00:1', '64:ff9b::10.0.0.1', 'not an ip']) {
      expect(isPublicAddress(address), address).toBe(false)
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPublicAddress(address), address).toBe(true)
  })

  it('checks what a name resolves to, and pins that address', async () => {
    await expect(resolveWebhookTarget('http://localhost:1/x', { allowPrivate: false })).rejects.toMatchObject({ code: 'validation_error' })
    expect(await resolveWebhookTarget('http://127.0.0.1:1/x', { allowPrivate: true })).toMatchObject({ address: '127.0.0.1', family: 4 })
    await expect(resolveWebhookTarget('http://no-such-host.invalid/', { allowPrivate: true })).rejects.toThrow(/does not resolve/)
  })
})

describe('webhookDispatcher', () => {
  it('checks the target again at delivery: a webhook stored for a private address is never sent to with the allowance off', async () => {
    const receiver = await webhookReceiver()
    const backend = memoryBackend()
    const store = memoryWebhookStore()
    // As if it was registered by a server that allowed private targets (or its name resolved elsewhere then).
    const webhook = await store.addWebhook({ tenant: 'acme', url: receiver.url, name: '', events: ['all'], secret: 's'.repeat(43), createdAt: Date.now() })
    const dispatcher = webhookDispatcher({ backend, store, failures: failureLog({ log: () => {} }), pollIntervalMs: 20, retryDelaysMs: [] })
    try {
      dispatcher.watch('acme')
      const haldir = createHaldir({ backend, tenant: 'acme' })
      const session = await haldir.createSession({ agentId: 'a', scopes: ['read'] })
      await haldir.revokeSession(session.id)
      await expect.poll(async () => (await store.listDeliveryAttempts({ tenant: 'acme', limit: 10, eventId: null })).length).toBe(1)
      const [attempt] = await store.listDeliveryAttempts({ tenant: 'acme', limit: 10, eventId: null })
      expect(attempt).toMatchObject({ webhookId: webhook.id, statusCode: 0, error: expect.stringMatching(/not a public address/) })
      expect(receiver.received).toHaveLength(0)
      expect((await store.listWebhooks('acme'))[0]).toMatchObject({ failCount: 1 })
    } finally {
      await dispatcher.close()
      await receiver.close()
    }
  })

  it('ends a hanging attempt when it stops, recording it for a retry from the outbox', async () => {
    const receiver = await webhookReceiver()
    receiver.state.hang = true
    const backend = memoryBackend()
    const store = memoryWebhookStore()
    await store.addWebhook({ tenant: 'acme', url: receiver.url, name: '', events: ['all'], secret: 's'.repeat(43), createdAt: Date.now() })
    const dispatcher = webhookDispatcher({ backend, store, failures: failureLog({ log: () => {} }), allowPrivateTargets: true, pollIntervalMs: 20, timeoutMs: 60_000 })
    try {
      dispatcher.watch('acme')
      const haldir = createHaldir({ backend, tenant: 'acme' })
      await haldir.revokeSession((await haldir.createSession({ agentId: 'a', scopes: ['read'] })).id)
      await receiver.until(1)
      const started = performance.now()
      await dispatcher.close()
      expect(performance.now() - started).toBeLessThan(1_000)
      expect(await store.listDeliveryAttempts({ tenant: 'acme', limit: 10, eventId: null })).toEqual([expect.objectContaining({ attempt: 1, statusCode: 0, error: 'the server stopped during the attempt' })])
      // Still queued, due after the first backoff: the next server sends it.
      expect(await store.claimDueDeliveries({ now: Date.now() + 2_000, limit: 10, leaseUntil: Date.now() + 60_000 })).toEqual([expect.objectContaining({ attempts: 1 })])
    } finally {
      await receiver.close()
    }
  })
})
