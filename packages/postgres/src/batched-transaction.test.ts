import { BackendError, HaldirError, ValidationError } from '@haldir/core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inBatchedTransaction } from './batched-transaction.ts'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testSchema } from './testing/test-database.ts'

const unavailable = await databaseUnavailable()
const suite = unavailable ? describe.skip : describe

suite(`inBatchedTransaction${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = testSchema()
  let pool: pg.Pool
  const roundTrips: string[] = []
  // The pool the transaction sees: it records every query its client sends (one round trip each).
  let counted: pg.Pool
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 2 })
    await pool.query(`create schema ${schema}; create table ${schema}.items (id int primary key, note text)`)
    counted = {
      async connect() {
        const client = await pool.connect()
        return {
          query: (text: string) => {
            roundTrips.push(text)
            return client.query(text)
          },
          release: () => client.release(),
        }
      },
    } as unknown as pg.Pool
  })
  afterAll(async () => {
    await pool.end()
    await dropSchema(schema)
  })

  it('sends begin with the reads and the queued writes with commit: two round trips', async () => {
    roundTrips.length = 0
    const seen = await inBatchedTransaction(counted, async (transaction) => {
      transaction.write(`insert into ${schema}.items values (1, 'one')`)
      const [rows] = await transaction.run(`select count(*)::int as count from ${schema}.items`)
      transaction.write(`insert into ${schema}.items values (2, 'two')`)
      return rows
    })
    // The first write travelled before the read (it was queued first), so the read saw it.
    expect(seen).toEqual([{ count: 1 }])
    expect(roundTrips).toHaveLength(2)
    expect(roundTrips[0]).toMatch(/^begin;\ninsert .*;\nselect count/)
    expect(roundTrips[1]).toMatch(/^insert .*'two'\);\ncommit$/)
    expect((await pool.query(`select id from ${schema}.items order by id`)).rows).toEqual([{ id: 1 }, { id: 2 }])
  })

  it('rolls everything back when the work throws, and passes Haldir errors through untouched', async () => {
    const refusal = new ValidationError({ issues: [{ path: 'x', message: 'no' }] })
    await expect(
      inBatchedTransaction(counted, async (transaction) => {
        await transaction.run(`insert into ${schema}.items values (3, 'three')`)
        throw refusal
      }),
    ).rejects.toBe(refusal)
    expect((await pool.query(`select count(*)::int as count from ${schema}.items where id = 3`)).rows[0]).toEqual({ count: 0 })
  })

  it('turns a database failure into a BackendError and rolls back', async () => {
    const failure = await inBatchedTransaction(counted, async (transaction) => {
      transaction.write(`insert into ${schema}.items values (4, 'four')`)
      await transaction.run(`insert into ${schema}.items values (1, 'duplicate')`)
    }).catch((error: unknown) => error)
    expect(BackendError.isInstance(failure)).toBe(true)
    expect(HaldirError.isInstance(failure) && failure.message).toMatch(/duplicate key/)
    expect((await pool.query(`select count(*)::int as count from ${schema}.items where id = 4`)).rows[0]).toEqual({ count: 0 })
  })
})
