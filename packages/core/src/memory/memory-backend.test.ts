import { memoryBackend } from '../index.ts'
import { memoryAuditTamper, testBackend } from '../testing/index.ts'

const backend = memoryBackend()

testBackend({
  name: 'memory',
  setup: () => ({ backend, otherTenant: backend, tamper: memoryAuditTamper(backend) }),
})
