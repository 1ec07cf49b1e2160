import { memoryBackend } from '../index.ts'
import { memoryAuditTamper, testBackend, testClock } from '../testing/index.ts'

const clock = testClock()
const backend = memoryBackend({ now: clock.now })

testBackend({
  name: 'memory',
  hooks: ['tamper', 'otherTenant', 'clock'],
  setup: () => ({ backend, otherTenant: backend, tamper: memoryAuditTamper(backend), clock }),
})
