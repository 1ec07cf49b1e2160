import { createCipheriv, randomBytes } from 'node:crypto'
import { createHaldir, IdempotencyError, IntegrityError } from '@haldir/core'
import { keyIdOf } from '@haldir/core/backend'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresBackend } from './postgres-backend.ts'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testSchema } from './testing/test-database.ts'

const unavailable = await databaseUnavailable()
const suite = unavailable ? describe.skip : describe

suite(`postgres: trust under faults and rotation${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = testSchema()
  const keyA = randomBytes(32).toString('hex')
  const keyB = randomBytes(32).toString('hex')
  let pool: pg.Pool
  const backendWith = (options: { masterKey: string; previousMasterKeys?: string[] }) => postgresBackend({ connectionString: testDatabaseUrl, schema, ...options })
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 2 })
    await backendWith({ masterKey: keyA }).migrate()
  })
  afterAll(async () => {
    await pool.end()
    await dropSchema(schema)
  })

  it('refuses TRUNCATE of the audit table, like UPDATE and DELETE', async () => {
    await expect(pool.query(`truncate ${schema}.audit_entries`)).rejects.toThrow(/append-only/)
    await expect(pool.query(`truncate ${schema}.audit_entries cascade`)).rejects.toThrow(/append-only/)
  })

  it('keeps verifying old trails and opening old secrets after the master key rotates, and names the missing key otherwise', async () => {
    const before = createHaldir({ backend: backendWith({ masterKey: keyA }), tenant: 'rotation' })
    const session = await before.createSession({ agentId: 'long-lived', scopes: ['read'], spendLimit: 5 })
    await before.authorizePayment(session.id, 0.5)
    await before.storeSecret('api_token', 'token-sealed-with-key-a', { scopeRequired: 'read' })
    await before.close()

    // Restarted with only the new key: old entries name a key it does not have; the secret does not open (audited).
    const forgetful = createHaldir({ backend: backendWith({ masterKey: keyB }), tenant: 'rotation' })
    expect(await forgetful.verifyAuditTrail(session.id)).toMatchObject({ ok: false, brokenAt: 1, reason: 'unknown_key' })
    const lost = await forgetful.getSecret('api_token', { sessionId: session.id }).catch((error: unknown) => error)
    expect(IntegrityError.isInstance(lost)).toBe(true)
    expect(String((lost as Error).message)).toMatch(/HALDIR_PREVIOUS_MASTER_KEYS/)
    await forgetful.close()

    // Restarted with the new key and the old one as previous: everything verifies and opens.
    const rotated = createHaldir({ backend: backendWith({ masterKey: keyB, previousMasterKeys: [keyA] }), tenant: 'rotation' })
    await rotated.authorizePayment(session.id, 0.25)
    expect(await rotated.getSecret('api_token', { sessionId: session.id })).toBe('token-sealed-with-key-a')
    const verification = await rotated.verifyAuditTrail(session.id)
    expect(verification).toMatchObject({ ok: true })
    const keyIds = new Set((await rotated.getAuditTrail({ sessionId: session.id })).entries.map((entry) => entry.keyId))
    expect(keyIds.size).toBe(2)
    await rotated.storeSecret('api_token', 'token-sealed-with-key-b', { scopeRequired: 'read' })
    const { rows } = await pool.query(`select key_id, format from ${schema}.secrets where tenant = 'rotation' and name = 'api_token'`)
    expect(rows[0]).toEqual({ key_id: keyIdOf(Buffer.from(keyB, 'hex')), format: 2 })
    await rotated.close()
  })

  it('opens a secret sealed in the old format (bound to its name only) and reseals it bound to its tenant', async () => {
    const masterKey = Buffer.from(keyA, 'hex')
    const nonce = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', masterKey, nonce)
    cipher.setAAD(Buffer.from('legacy_secret', 'utf8'))
    const ciphertext = Buffer.concat([cipher.update('sealed-by-version-one', 'utf8'), cipher.final()])
    await pool.query(
      `insert into ${schema}.secrets (tenant, name, key_id, nonce, ciphertext, tag, scope_required, updated_at_ms, format) values ('legacy', 'legacy_secret', $1, $2, $3, $4, null, 0, 1)`,
      [keyIdOf(masterKey), nonce.toString('base64'), ciphertext.toString('base64'), cipher.getAuthTag().toString('base64')],
    )
    const haldir = createHaldir({ backend: backendWith({ masterKey: keyA }), tenant: 'legacy' })
    const session = await haldir.createSession({ agentId: 'reader', scopes: ['read'] })
    expect(await haldir.getSecret('legacy_secret', { sessionId: session.id })).toBe('sealed-by-version-one')
    expect((await pool.query(`select format from ${schema}.secrets where tenant = 'legacy' and name = 'legacy_secret'`)).rows[0]).toEqual({ format: 2 })
    // Resealed bound to the tenant: a copy into another tenant no longer opens.
    await pool.query(`insert into ${schema}.secrets select 'thief', name, key_id, nonce, ciphertext, tag, scope_required, updated_at_ms, format from ${schema}.secrets where tenant = 'legacy'`)
    const thief = createHaldir({ backend: backendWith({ masterKey: keyA }), tenant: 'thief' })
    const other = await thief.createSession({ agentId: 'thief', scopes: ['*'] })
    expect(IntegrityError.isInstance(await thief.getSecret('legacy_secret', { sessionId: other.id }).catch((error: unknown) => error))).toBe(true)
    await haldir.close()
    await thief.close()
  })

  it('lets one of two racing first uses of a key win, on two sessions: the other is a conflict, never a 500', async () => {
    const haldir = createHaldir({ backend: backendWith({ masterKey: keyA }), tenant: 'race' })
    const sessions = await Promise.all([0, 1, 2, 3].map((index) => haldir.createSession({ agentId: `racer-${index}`, spendLimit: 5 })))
    for (let round = 0; round < 5; round++) {
      const key = `race-${round}`
      const outcomes = await Promise.allSettled(sessions.map((session) => haldir.authorizePayment(session.id, 1, { idempotencyKey: key })))
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1)
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []))
      expect(refused.every((error) => IdempotencyError.isInstance(error) && error.code === 'idempotency_conflict')).toBe(true)
    }
    const spent = await Promise.all(sessions.map(async (session) => (await haldir.getSpend(session.id)).totalUsd))
    expect(spent.reduce((sum, value) => sum + value, 0)).toBe(5)
    await haldir.close()
  })
})
