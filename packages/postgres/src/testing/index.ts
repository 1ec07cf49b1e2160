export { sqlAuditTamper } from './sql-audit-tamper.ts'
export { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from './test-database.ts'
