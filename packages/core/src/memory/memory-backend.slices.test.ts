import { memoryBackend } from './memory-backend.ts'
import { memoryAuditTamper, testBackend, testClock } from '../testing/index.ts'

// The whole suite again with escrowed slices on: every invariant holds the same with them.
const clock = testClock()
const backend = memoryBackend({ now: clock.now, slices: true })

testBackend({
  name: 'memory, with slices',
  hooks: ['tamper', 'otherTenant', 'clock'],
  setup: () => ({ backend, otherTenant: backend, tamper: memoryAuditTamper(backend), clock }),
})
