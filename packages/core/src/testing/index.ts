export { memoryAuditTamper, type AuditTamper } from './audit-tamper.ts'
export { testBackend, type BackendUnderTest, type TestBackendOptions } from './test-backend.ts'
