import { checkOptionKeys, createStatefulBackend, type HaldirBackend, KEY_OPTIONS, type KeyInput, resolveKeys, ValidationError, type WebhookStore } from '@haldir/core/backend'
import pg from 'pg'
import { migrate } from './migrations.ts'
import { postgresStore } from './postgres-store.ts'
import { postgresWebhookStore } from './postgres-webhook-store.ts'
import { toBackendError } from './to-backend-error.ts'

export interface PostgresBackendOptions {
  /** `postgres://user@host:5432/db`; or pass `pool`. */
  connectionString?: string
  /** A pool of your own (not closed by `close()`). */
  pool?: pg.Pool
  /** Vault master key, 32 bytes hex/base64. Required (or `HALDIR_MASTER_KEY`): secrets must outlive the process. */
  masterKey?: KeyInput
  /** Keys that only open secrets sealed before a rotation. @default process.env.HALDIR_PREVIOUS_MASTER_KEYS */
  previousMasterKeys?: readonly KeyInput[]
  /** @default derived from the master key (or `HALDIR_AUDIT_KEY`) */
  auditKey?: KeyInput
  /** Audit keys that only verify entries sealed before a rotation. @default process.env.HALDIR_PREVIOUS_AUDIT_KEYS */
  previousAuditKeys?: readonly KeyInput[]
  /** PostgreSQL schema holding Haldir's tables. @default 'haldir' */
  schema?: string
  /** Apply pending migrations before the first operation. @default true */
  migrate?: boolean
  /** Connections when the backend makes its own pool. @default 10 */
  poolSize?: number
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number
  /** Ed25519 seed that signs tree heads. @default process.env.HALDIR_TREE_SIGNING_KEY, else derived from the master key */
  treeSigningKey?: KeyInput
  /** Earlier tree-signing seeds, still published so old heads verify. */
  previousTreeSigningKeys?: readonly KeyInput[]
  /** Keep the tenant ledger: tree heads, proofs, exports. @default true */
  ledger?: boolean
  /**
   * Decide an operation on rows this process wrote last and apply it in one round trip, the
   * rows locked and checked unchanged first (else the usual two round trips, locked). @default true
   */
  optimistic?: boolean
}

export interface PostgresBackend extends HaldirBackend {
  readonly pool: pg.Pool
  readonly schema: string
  /** Applies pending migrations now; returns the versions applied. */
  migrate(): Promise<number[]>
  /**
   * Signed webhooks and their delivery outbox in this database (same pool and schema), so
   * queued deliveries survive a restart; `createHaldirServer` uses it when given this backend.
   */
  webhookStore(): WebhookStore
  /** Ends the pool if the backend made it. */
  close(): Promise<void>
}

/**
 * The PostgreSQL backend: core's engine over a PostgreSQL store. Every decision runs in one
 * transaction that locks the session and all its ancestors, so many processes and hosts share
 * one budget exactly.
 *
 * @example
 * const haldir = createHaldir({ backend: postgresBackend({ connectionString: process.env.DATABASE_URL, masterKey: process.env.HALDIR_MASTER_KEY }) })
 */
const POSTGRES_OPTIONS = [
  'connectionString',
  'pool',
  ...KEY_OPTIONS,
  'schema',
  'migrate',
  'poolSize',
  'now',
  'ledger',
  'optimistic',
] as const

export function postgresBackend(options: PostgresBackendOptions): PostgresBackend {
  checkOptionKeys(options, POSTGRES_OPTIONS)
  const keys = resolveKeys({ ...options, durable: true, backendName: 'postgres' })
  const schema = options.schema ?? 'haldir'
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new ValidationError({ issues: [{ path: 'schema', message: 'must be a lower-case SQL identifier' }] })
  if (!options.pool && !options.connectionString) throw new ValidationError({ issues: [{ path: 'connectionString', message: 'give a connectionString or a pool' }] })
  const ownsPool = !options.pool
  const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 })
  // An idle client's error (a server restart) must not crash the process; the next query reports it.
  if (ownsPool) pool.on('error', () => {})
  let ready: Promise<unknown> | undefined
  const ensureReady = () =>
    (ready ??=
      options.migrate === false
        ? Promise.resolve()
        : migrate(pool, schema).catch((error: unknown) => {
            ready = undefined
            throw toBackendError(error, 'migrating the schema')
          }))
  const store = postgresStore({ pool, schema, ready: ensureReady, ownsPool, optimistic: options.optimistic ?? true })
  const backend = createStatefulBackend({ store, keys, ...(options.now ? { now: options.now } : {}), ...(options.ledger === undefined ? {} : { ledger: options.ledger }) })
  let webhooks: WebhookStore | undefined
  return Object.assign(backend, {
    pool,
    schema,
    // A deferred settle overlaps the client's next gate on the same rows, which sends both down
    // the locked path (measured: fewer calls/s at every concurrency); settle as the call ends.
    defaultSettle: 'inline' as const,
    webhookStore: () => (webhooks ??= postgresWebhookStore({ pool, schema, ready: ensureReady })),
    async migrate() {
      ready = migrate(pool, schema)
      return (await ready) as number[]
    },
    close: () => store.close(),
  })
}
