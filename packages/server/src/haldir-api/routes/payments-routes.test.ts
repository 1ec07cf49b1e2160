import type { HaldirBackend } from '@haldir/core'
import { memoryBackend } from '@haldir/core'
import { postgresBackend } from '@haldir/postgres'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from '@haldir/postgres/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { haldirApiServer, ids } from '../haldir-api.test-helper.ts'

const unavailable = await databaseUnavailable()
const schema = testSchema()
afterAll(async () => {
  if (!unavailable) await dropSchema(schema)
})

const backends: { name: string; skip: string | false; make: () => HaldirBackend }[] = [
  { name: 'memory', skip: false, make: () => memoryBackend() },
  { name: 'PostgreSQL', skip: unavailable || false, make: () => postgresBackend({ connectionString: testDatabaseUrl, schema, masterKey: testMasterKey }) },
]

for (const backend of backends) {
  describe.skipIf(backend.skip)(`POST /v1/payments/authorize on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`, () => {
    const session = async (api: Awaited<ReturnType<typeof haldirApiServer>>, scopes: string[]) =>
      ((await api.call('POST', '/v1/sessions', { body: { agent_id: `payer-${Math.random()}`, scopes } })).body as { session_id: string }).session_id

    it('authorizes with upstream fields and types, exactly (0.1 + 0.2 of 0.3 leaves 0, not 0.19999999999999998)', async () => {
      const api = await haldirApiServer({ backend: backend.make() })
      try {
        const id = await session(api, ['spend:0.3'])
        const first = await api.call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 0.1, description: 'search' } })
        expect(first.status).toBe(200)
        expect(first.body).toEqual({
          authorized: true,
          authorization_id: expect.stringMatching(ids.authorization),
          session_id: id,
          agent_id: expect.stringMatching(/^payer-/),
          amount: 0.1,
          currency: 'USD',
          description: 'search',
          remaining_budget: 0.2,
          timestamp: expect.any(Number),
        })
        const second = await api.call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 0.2, currency: 'EUR' } })
        expect(second.body).toMatchObject({ authorized: true, amount: 0.2, currency: 'EUR', remaining_budget: 0 })
        expect((await api.call('GET', `/v1/sessions/${id}`)).body).toMatchObject({ spent: 0.3, remaining_budget: 0 })
        const over = await api.call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 0.01 } })
        expect(over).toMatchObject({ status: 403, body: { authorized: false, reason: 'Insufficient budget. Remaining: $0.00, requested: $0.01' } })
        // The payment is on the session's trail, as its authorization id says.
        const trail = (await api.call('GET', `/v1/audit?session_id=${id}`)).body as { entries: { entry_id: string; action: string; cost_usd: number }[] }
        expect(trail.entries.find((entry) => entry.action === 'payment' && entry.cost_usd === 0.1)?.entry_id).toBe((first.body.authorization_id as string).replace('auth_', 'aud_'))
      } finally {
        await api.close()
      }
    })

    it('refuses without the spend scope (saying so), an unknown or revoked session with 401, and bad bodies in shape C', async () => {
      const api = await haldirApiServer({ backend: backend.make() })
      try {
        const reader = await session(api, ['read'])
        expect(await api.call('POST', '/v1/payments/authorize', { body: { session_id: reader, amount: 1 } })).toMatchObject({ status: 403, body: { authorized: false, reason: "Session lacks the 'spend' scope" } })
        expect(await api.call('POST', '/v1/payments/authorize', { body: { session_id: 'ses_nope', amount: 1 } })).toMatchObject({ status: 401, body: { error: 'Invalid or expired session' } })
        const payer = await session(api, ['spend:5'])
        await api.call('DELETE', `/v1/sessions/${payer}`)
        expect(await api.call('POST', '/v1/payments/authorize', { body: { session_id: payer, amount: 1 } })).toMatchObject({ status: 401, body: { error: 'Invalid or expired session' } })
        const cases: [unknown, string, string][] = [
          [{ amount: 1 }, 'session_id', 'field is required'],
          [{ session_id: payer }, 'amount', 'field is required'],
          [{ session_id: payer, amount: '1' }, 'amount', 'expected float, got str'],
          [{ session_id: payer, amount: true }, 'amount', 'expected float, got bool'],
          [{ session_id: payer, amount: 0.001 }, 'amount', 'must be >= 0.01'],
          [{ session_id: payer, amount: 1_000_001 }, 'amount', 'must be <= 1000000'],
          [{ session_id: payer, amount: 0.0100001 }, 'amount', 'has more than 6 decimals (0.0100001)'],
          [{ session_id: payer, amount: 1, currency: 'DOLLARSXX' }, 'currency', 'length exceeds 8'],
          [{ session_id: payer, amount: 1, description: 'x'.repeat(501) }, 'description', 'length exceeds 500'],
        ]
        for (const [body, field, reason] of cases) {
          expect(await api.call('POST', '/v1/payments/authorize', { body }), JSON.stringify(body)).toMatchObject({ status: 400, body: { code: 'invalid_request', field, reason } })
        }
        // An auditor key moves no money (upstream lets any key pay).
        expect((await api.call('POST', '/v1/payments/authorize', { key: api.keys.auditor, body: { session_id: payer, amount: 1 } })).status).toBe(403)
      } finally {
        await api.close()
      }
    })

    it('authorizes exactly 50 of 1,000 concurrent $0.10 payments on a $5 session', async () => {
      const api = await haldirApiServer({ backend: backend.make(), rateLimits: { perKey: false } })
      try {
        const id = await session(api, ['spend:5'])
        const answers = await Promise.all(Array.from({ length: 1000 }, () => api.call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 0.1 } })))
        expect(answers.filter((answer) => answer.status === 200)).toHaveLength(50)
        expect(answers.filter((answer) => answer.status === 403 && answer.body.reason === 'Insufficient budget. Remaining: $0.00, requested: $0.10')).toHaveLength(950)
        expect((await api.call('GET', `/v1/sessions/${id}`)).body).toMatchObject({ spent: 5, remaining_budget: 0 })
        expect((await api.call('GET', '/v1/audit/verify')).body).toMatchObject({ verified: true })
      } finally {
        await api.close()
      }
    }, 60_000)

    it('charges once for the same Idempotency-Key sent 50 times at once; another body under it is a 422', async () => {
      const api = await haldirApiServer({ backend: backend.make() })
      try {
        const id = await session(api, ['spend:5'])
        const headers = { 'idempotency-key': `pay-${Math.random()}` }
        const answers = await Promise.all(Array.from({ length: 50 }, () => api.call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 1.25, description: 'once' }, headers })))
        expect(answers.every((answer) => answer.status === 200)).toBe(true)
        expect(new Set(answers.map((answer) => answer.body.authorization_id)).size).toBe(1)
        expect(new Set(answers.map((answer) => answer.body.timestamp)).size).toBe(1)
        expect((await api.call('GET', `/v1/sessions/${id}`)).body).toMatchObject({ spent: 1.25 })
        // Defaults filled count as the same body; another amount or description does not.
        expect((await api.call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 1.25, description: 'once', currency: 'USD' }, headers })).status).toBe(200)
        expect(await api.call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 2, description: 'once' }, headers })).toMatchObject({
          status: 422,
          body: { error: `Idempotency-Key '${headers['idempotency-key']}' was previously used with a different request body on '/v1/payments/authorize'. Use a fresh key or send the identical body.` },
        })
        // Only the description differs: the same charge for the engine, another body for upstream's clients.
        expect((await api.call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 1.25, description: 'twice' }, headers })).status).toBe(422)
        expect((await api.call('GET', `/v1/sessions/${id}`)).body).toMatchObject({ spent: 1.25 })
        // A replay after the session was revoked is refused, not answered from memory.
        await api.call('DELETE', `/v1/sessions/${id}`)
        expect(await api.call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 1.25, description: 'once' }, headers })).toMatchObject({ status: 401 })
      } finally {
        await api.close()
      }
    }, 60_000)
  })
}

describe.skipIf(unavailable)(`POST /v1/payments/authorize on two servers over one PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('charges once for one Idempotency-Key sent 50 times across two server processes: the engine takes the key, not the server', async () => {
    const first = await haldirApiServer({ backend: postgresBackend({ connectionString: testDatabaseUrl, schema, masterKey: testMasterKey }) })
    // Both servers' keys act for tenant 'acme': one tenant, two server processes, one database.
    const second = await haldirApiServer({ backend: postgresBackend({ connectionString: testDatabaseUrl, schema, masterKey: testMasterKey }) })
    try {
      const id = ((await first.call('POST', '/v1/sessions', { body: { agent_id: 'two-servers', scopes: ['spend:5'] } })).body as { session_id: string }).session_id
      const headers = { 'idempotency-key': `shared-${Math.random()}` }
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, index) => (index % 2 === 0 ? first : second).call('POST', '/v1/payments/authorize', { body: { session_id: id, amount: 0.5 }, headers })),
      )
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(50)
      expect(new Set(answers.map((answer) => answer.body.authorization_id)).size).toBe(1)
      expect((await first.call('GET', `/v1/sessions/${id}`)).body).toMatchObject({ spent: 0.5 })
    } finally {
      await first.close()
      await second.close()
    }
  }, 60_000)
})
