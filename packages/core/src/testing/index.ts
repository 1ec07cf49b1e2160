export { memoryAuditTamper, type AuditTamper } from './audit-tamper.ts'
export { type BackendUnderTest, type ConformanceHook, testBackend, testClock, type TestBackendOptions, type TestClock } from './test-backend.ts'
