import type pg from 'pg'
import { connectTo } from './connect-to.ts'
import { toBackendError } from './to-backend-error.ts'

/** Runs queries against one snapshot of the database. */
export type SnapshotQuery = <T extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<T[]>

/**
 * Reads that must agree with each other (a session's audit head and its entries; counters and
 * the entries that re-derive them) in one read-only transaction at `repeatable read`: every
 * statement sees the same snapshot. Read one statement at a time, a write committed in between
 * (another client's settle) made an intact trail verify as broken.
 */
export async function readInSnapshot<T>(pool: pg.Pool, work: (query: SnapshotQuery) => Promise<T>): Promise<T> {
  const client = await connectTo(pool)
  try {
    await client.query('begin isolation level repeatable read read only')
    const result = await work(async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await client.query<R>(text, values)).rows)
    await client.query('commit')
    return result
  } catch (error) {
    await client.query('rollback').catch(() => {})
    throw toBackendError(error, 'reading')
  } finally {
    client.release()
  }
}
