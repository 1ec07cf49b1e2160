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
    // Admin keys (the suite stores secrets and reads whole tenants) and no per-key limit: the
    // suite fires thousands of requests in a few seconds to test the backend, not the limiter.
    running = await serveHaldir({
      backend: state,
      apiKeys: apiKeyStore([
        { tenant: 'a', role: 'admin', key: keyA },
        { tenant: 'b', role: 'admin', key: keyB },
        { tenant: 'c', role: 'admin', key: keyC },
      ]),
      rateLimits: { perKey: false },
      port: 0,
    })
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
