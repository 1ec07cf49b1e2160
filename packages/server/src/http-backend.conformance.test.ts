import { httpBackend, memoryBackend } from '@haldir/core'
import { memoryAuditTamper, testBackend, testClock } from '@haldir/core/testing'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

let running: RunningHaldirServer | undefined

// The whole conformance suite, through httpBackend, against a real server on loopback.
testBackend({
  name: 'http → server (memory)',
  hooks: ['tamper', 'otherTenant', 'clock'],
  async setup() {
    const clock = testClock()
    const state = memoryBackend({ now: clock.now })
    const keyA = createApiKey()
    const keyB = createApiKey()
    const keyC = createApiKey()
    running = await serveHaldir({ backend: state, apiKeys: apiKeyStore([{ tenant: 'a', key: keyA }, { tenant: 'b', key: keyB }, { tenant: 'c', key: keyC }]), port: 0 })
    return {
      backend: httpBackend({ url: running.url, apiKey: keyA }),
      otherTenant: httpBackend({ url: running.url, apiKey: keyB }),
      tamper: memoryAuditTamper(state),
      clock,
      tenants: { own: 'a', other: 'b' },
      spareTenant: httpBackend({ url: running.url, apiKey: keyC }),
    }
  },
  teardown: () => running?.close(),
})
