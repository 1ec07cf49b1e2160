import type { HaldirBackend } from '../backend/haldir-backend.ts'
import { createStatefulBackend } from '../engine/create-stateful-backend.ts'
import type { SliceOptions } from '../engine/slices.ts'
import { checkOptionKeys } from '../internal/check-option-keys.ts'
import { KEY_OPTIONS, resolveKeys, type KeyInput } from '../internal/resolve-keys.ts'
import { memoryInternals, type MemoryInternals, memoryStore } from './memory-store.ts'

export interface MemoryBackendOptions {
  /** 32 bytes (hex or base64). @default process.env.HALDIR_MASTER_KEY, else an ephemeral key */
  masterKey?: KeyInput
  /** Keys that only decrypt, for rotation. @default process.env.HALDIR_PREVIOUS_MASTER_KEYS */
  previousMasterKeys?: readonly KeyInput[]
  /** HMAC key of the audit chain. @default derived from the master key */
  auditKey?: KeyInput
  /** Audit keys that only verify, for rotation. @default process.env.HALDIR_PREVIOUS_AUDIT_KEYS */
  previousAuditKeys?: readonly KeyInput[]
  /** Ed25519 seed that signs tree heads. @default process.env.HALDIR_TREE_SIGNING_KEY, else derived from the master key */
  treeSigningKey?: KeyInput
  /** Earlier tree-signing seeds, still published so old heads verify. */
  previousTreeSigningKeys?: readonly KeyInput[]
  /** Clock in epoch milliseconds (tests move it). @default Date.now */
  now?: () => number
  /** How many idempotency keys and settled holds are remembered. @default 100_000 */
  idempotencyCacheSize?: number
  /** About how many bytes each tenant may keep (entries, session metadata, secrets); past it, writes are `QuotaExceededError`. @default 268_435_456 (256 MiB) */
  maxTenantBytes?: number
  /** Keep the tenant ledger: tree heads, proofs, exports. @default true */
  ledger?: boolean
  /**
   * Escrowed slices of a parent's budget for child sessions (as `postgresBackend`). In one process
   * no row is contended, so they are off by default; on, the memory backend behaves exactly as a
   * database backend with slices does (the conformance suite runs it both ways). @default false
   */
  slices?: SliceOptions | boolean
}

const MEMORY_OPTIONS = [
  ...KEY_OPTIONS,
  'now',
  'idempotencyCacheSize',
  'maxTenantBytes',
  'ledger',
  'slices',
] as const

/**
 * The embedded backend: all state in this process, core's engine over an in-memory store.
 * Every operation runs synchronously between two awaits, so each is atomic without locks;
 * budgets hold under any number of concurrent calls. The state dies with the process.
 *
 * @example
 * const haldir = createHaldir({ backend: memoryBackend() })
 */
export function memoryBackend(options: MemoryBackendOptions = {}): HaldirBackend & { [memoryInternals]: MemoryInternals } {
  checkOptionKeys(options, MEMORY_OPTIONS)
  const keys = resolveKeys({ ...options, durable: false, backendName: 'memory' })
  const store = memoryStore({ cacheSize: options.idempotencyCacheSize ?? 100_000, maxTenantBytes: options.maxTenantBytes ?? 256 * 1024 * 1024 })
  const backend = createStatefulBackend({ store, keys, ...(options.now ? { now: options.now } : {}), ...(options.ledger === undefined ? {} : { ledger: options.ledger }), ...(options.slices === undefined ? {} : { slices: options.slices }) })
  return Object.assign(backend, { [memoryInternals]: store[memoryInternals] })
}
