import type pg from 'pg'
import type { ConnectionSource } from './prepared-statements.ts'
import { connectTo } from './connect-to.ts'
import { toBackendError } from './to-backend-error.ts'

export interface BatchedTransaction {
  /** Sends the queued writes and these statements in one round trip; returns each statement's rows. */
  run(...statements: string[]): Promise<unknown[][]>
  /** Queues a write; it travels with the next `run`, or with the commit. */
  write(statement: string): void
}

/**
 * A transaction in as few round trips as possible: `begin` travels with the first statements
 * (the locks and reads), queued writes travel with `commit`. A load-decide-apply operation is
 * therefore two round trips, whatever it writes. Statements are sent in pg's simple protocol,
 * which runs several in one message (values are inlined by `sql`, escaped by pg itself).
 * Anything thrown rolls back; non-Haldir errors become `BackendError`.
 */
export async function inBatchedTransaction<T>(pool: ConnectionSource, work: (transaction: BatchedTransaction) => Promise<T>): Promise<T> {
  const client = await connectTo(pool)
  const queued: string[] = ['begin']
  const transaction: BatchedTransaction = {
    async run(...statements) {
      const batch = [...queued.splice(0), ...statements]
      const results = (await client.query(batch.join(';\n'))) as unknown as pg.QueryResult[] | pg.QueryResult
      const all = Array.isArray(results) ? results : [results]
      return all.slice(all.length - statements.length).map((result) => result.rows)
    },
    write(statement) {
      queued.push(statement)
    },
  }
  try {
    const result = await work(transaction)
    queued.push('commit')
    await client.query(queued.join(';\n'))
    return result
  } catch (error) {
    await client.query('rollback').catch(() => {})
    throw toBackendError(error, 'writing')
  } finally {
    client.release()
  }
}
