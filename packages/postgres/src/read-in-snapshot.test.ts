import { createHaldir, withHaldir } from '@haldir/core'
import { afterAll, describe, expect, it } from 'vitest'
import { type PostgresBackend, postgresBackend } from './postgres-backend.ts'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from './testing/test-database.ts'

const unavailable = await databaseUnavailable()
const suite = unavailable ? describe.skip : describe

suite(`postgres reads that must agree${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = testSchema()
  const backends: PostgresBackend[] = []
  afterAll(async () => {
    for (const backend of backends) await backend.close()
    await dropSchema(schema)
  })

  it('verifies an intact trail as intact while another process keeps writing to it', async () => {
    const writerBackend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema })
    const readerBackend = postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema })
    backends.push(writerBackend, readerBackend)
    const writer = createHaldir({ backend: writerBackend, tenant: 'busy' })
    const reader = createHaldir({ backend: readerBackend, tenant: 'busy' })
    const crew = await writer.createSession({ agentId: 'crew', scopes: ['search'], spendLimit: 100 })
    const agent = await writer.createSession({ agentId: 'agent', scopes: ['search'], spendLimit: 100, parentId: crew.id })
    const call = withHaldir(async () => 'ok', { haldir: writer, sessionId: agent.id, scope: 'search', tool: 'search', cost: 0.01 })
    let writing = true
    const writes = (async () => {
      while (writing) await Promise.all([call(), call(), call()])
    })()
    // Each check reads a head and its entries, counters and the entries behind them: with writes
    // landing between separate reads, some of these would see a chain or a balance that disagrees.
    const results = []
    for (let index = 0; index < 40; index++) results.push(...(await Promise.all([reader.verifyAuditTrail(agent.id), reader.verifyAuditTrail(crew.id)])))
    writing = false
    await writes
    await writer.flush()
    expect(results.filter((result) => !result.ok)).toEqual([])
    expect((await reader.verifyAuditTrail(agent.id)).ok).toBe(true)
  })
})
