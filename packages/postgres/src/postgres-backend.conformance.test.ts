import { testBackend, testClock } from '@haldir/core/testing'
import { type PostgresBackend, postgresBackend } from './postgres-backend.ts'
import { sqlAuditTamper } from './testing/sql-audit-tamper.ts'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from './testing/test-database.ts'

const schema = testSchema()
const clock = testClock()
let backend: PostgresBackend | undefined

testBackend({
  name: 'postgres',
  hooks: ['tamper', 'otherTenant', 'clock'],
  skip: await databaseUnavailable(),
  async setup() {
    backend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, poolSize: 20, now: clock.now })
    await backend.migrate()
    return { backend, otherTenant: backend, tamper: sqlAuditTamper(backend.pool, schema), clock }
  },
  async teardown() {
    await backend?.close()
    await dropSchema(schema)
  },
})
