import type pg from 'pg'
import type { ConnectionSource } from './prepared-statements.ts'
import { toBackendError } from './to-backend-error.ts'

/** A connection from `source` (a pool, or connections with the statements prepared); failing to get one is the typed `BackendError` callers catch. */
export async function connectTo(source: ConnectionSource): Promise<pg.PoolClient> {
  try {
    return await source.connect()
  } catch (error) {
    throw toBackendError(error, 'connecting')
  }
}
