import { checkOptionKeys, createStatefulBackend, type HaldirBackend, KEY_OPTIONS, type KeyInput, resolveKeys, type SliceOptions, ValidationError, type WebhookStore } from '@haldir/core/backend'
import pg from 'pg'
import { migrate } from './migrations.ts'
import type { GroupCommitOptions } from './group-commit.ts'
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
  /**
   * Group commit: while `inFlight` operations of this backend are running, new ones wait and then
   * run together as one transaction (one lock of the rows they share, one commit), each decided in
   * turn on what the ones before it left. `false` runs every operation in its own transaction.
   * @default { inFlight: 1, maxSize: 128 }
   */
  group?: false | GroupCommitOptions
  /**
   * Prepare the statements of a governed call once per connection (`prepare`/`execute`), so the
   * database plans them once instead of on every call. `false` for a connection pooler that keeps
   * no session state between transactions (PgBouncer in transaction mode). @default true
   */
  preparedStatements?: boolean
  /**
   * Escrowed slices of a parent's budget: a child session's calls draw on a slice its ancestors
   * reserved for it, locking and writing only the child's own row (a crew's members stop queueing
   * on the crew's row). Refusals stay exact: slices are recalled before an ancestor refuses.
   * `{ calls, share }` sizes them; `false` locks the whole chain on every call. @default true
   */
  slices?: SliceOptions | boolean
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
  'group',
  'preparedStatements',
  'slices',
] as const

export function postgresBackend(options: PostgresBackendOptions): PostgresBackend {
  checkOptionKeys(options, POSTGRES_OPTIONS)
  const keys = resolveKeys({ ...options, durable: true, backendName: 'postgres' })
  const schema = options.schema ?? 'haldir'
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new ValidationError({ issues: [{ path: 'schema', message: 'must be a lower-case SQL identifier' }] })
  checkStoreOptions(options)
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
  const store = postgresStore({ pool, schema, ready: ensureReady, ownsPool, optimistic: options.optimistic ?? true, ...(options.group === undefined ? {} : { group: options.group }), ...(options.preparedStatements === undefined ? {} : { preparedStatements: options.preparedStatements }) })
  const backend = createStatefulBackend({ store, keys, slices: options.slices ?? true, ...(options.now ? { now: options.now } : {}), ...(options.ledger === undefined ? {} : { ledger: options.ledger }) })
  let webhooks: WebhookStore | undefined
  return Object.assign(backend, {
    pool,
    schema,
    // Deferred settles (the client default) wait in the group queue with the next gates and share
    // their commits: more calls/s at every concurrency measured (`node bench/run.ts postgres`).
    defaultSettle: 'deferred' as const,
    webhookStore: () => (webhooks ??= postgresWebhookStore({ pool, schema, ready: ensureReady })),
    async migrate() {
      ready = migrate(pool, schema)
      return (await ready) as number[]
    },
    close: () => store.close(),
  })
}

/**
 * The store's switches, refused before anything runs when they are not what they say: a group
 * setting that could stall every operation (no slot to run in) or never group, a switch given as
 * anything but a boolean (`'false'` from an environment variable would read as on).
 */
function checkStoreOptions(options: PostgresBackendOptions): void {
  const issues: { path: string; message: string }[] = []
  for (const key of ['optimistic', 'preparedStatements'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') issues.push({ path: key, message: 'must be true or false' })
  }
  const { group } = options
  if (group !== undefined && group !== false) {
    checkOptionKeys(group, ['inFlight', 'maxSize'], 'group')
    for (const key of ['inFlight', 'maxSize'] as const) {
      const value = group[key]
      if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1 && value <= 10_000)) issues.push({ path: `group.${key}`, message: 'must be a whole number from 1 to 10000' })
    }
  }
  if (issues.length > 0) throw new ValidationError({ issues })
}
