import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The database tests use: `HALDIR_TEST_DATABASE_URL`, or the local server CI starts. */
export const testDatabaseUrl = process.env.HALDIR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A fixed test master key (never used outside tests). */
export const testMasterKey = 'a'.repeat(64)

/**
 * Why the PostgreSQL tests cannot run here, or `false` when a server answers. With
 * `HALDIR_REQUIRE_POSTGRES=1` (CI) an unreachable database throws instead.
 */
export async function databaseUnavailable(): Promise<string | false> {
  const client = new pg.Client({ connectionString: testDatabaseUrl, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return false
  } catch (error) {
    const reason = `no PostgreSQL at ${testDatabaseUrl.replace(/\/\/[^@]*@/, '//')} (${error instanceof Error ? error.message : String(error)}); set HALDIR_TEST_DATABASE_URL or start one`
    // CI provisions the database: there, a missing one is a failure, never a quiet skip.
    if (process.env.HALDIR_REQUIRE_POSTGRES === '1') throw new Error(`HALDIR_REQUIRE_POSTGRES is set but ${reason}`)
    console.warn(`\n[haldir] PostgreSQL tests SKIPPED: ${reason}\n`)
    return reason
  } finally {
    await client.end().catch(() => {})
  }
}

/** A fresh schema name per suite, so runs never see each other's rows. */
export function testSchema(): string {
  return `haldir_t_${randomBytes(6).toString('hex')}`
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseUrl })
  await client.connect()
  try {
    await client.query(`drop schema if exists ${schema} cascade`)
  } finally {
    await client.end()
  }
}
