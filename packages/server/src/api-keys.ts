import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { ValidationError } from '@haldir/core'
import { type ApiKeyRole, apiKeyRoles, parseApiKeyRole } from './api-key-role.ts'

/** One configured key: the tenant it acts for, its role, and the SHA-256 of the key (never the key). */
export interface ApiKeyRecord {
  tenant: string
  role: ApiKeyRole
  /** `sha256:<64 hex>` */
  hash: string
}

/** A key given in plain text; hashed on load, the text is not kept. */
export interface PlainApiKey {
  tenant: string
  role: ApiKeyRole
  key: string
}

/** Who a presented key is. */
export interface ApiKeyIdentity {
  tenant: string
  role: ApiKeyRole
  /** The first 16 hex digits of the key's SHA-256: safe to log, and what per-key rate limits count by. */
  keyId: string
  /**
   * Upstream Haldir key scopes (`sessions:read`, `audit:*` …) narrowing what the role allows on
   * the Haldir API; absent: every scope (configured keys). A key narrowed this way is refused on
   * the native API, whose routes have no key scopes.
   */
  scopes?: readonly string[]
}

/** A key as an operator lists it: never the key, never its full hash. */
export interface ApiKeyListing {
  keyId: string
  role: ApiKeyRole
}

export interface ApiKeyStore {
  /** The identity of a presented key, or `null`; the comparison does not stop at the first match. */
  authenticate(presented: string): ApiKeyIdentity | null
  readonly size: number
  /** Optional: the keys of a tenant. */
  list?(tenant: string): ApiKeyListing[]
}

const KEY_PREFIX = 'hld_'
const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** A tenant name a key can be configured for: 1–64 letters, digits, `.`, `_` or `-`, not starting with a symbol. */
export function isTenantName(value: unknown): value is string {
  return typeof value === 'string' && TENANT.test(value)
}

/** A new random API key (`hld_` + 32 random bytes, base64url). Show it once; store only its hash. */
export function createApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url')
}

/**
 * The stored form of a key. Keys are 256 random bits, so one SHA-256 is enough (no password
 * stretching is needed against a guess space that large).
 */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`
}

/**
 * A key store over hashed records. Keys given in plain text are hashed on load and the plain
 * text is not kept. Every key names its tenant and its role: there is no default role, so a
 * forgotten role refuses to start rather than granting more (or less) than meant.
 *
 * @example
 * apiKeyStore([{ tenant: 'acme', role: 'agent', key: process.env.AGENT_KEY }, { tenant: 'acme', role: 'auditor', hash: 'sha256:…' }])
 */
export function apiKeyStore(records: readonly (ApiKeyRecord | PlainApiKey)[]): ApiKeyStore {
  const seen = new Map<string, string>()
  const hashed = records.map((record, index) => {
    const path = `apiKeys.${index}`
    if (!isTenantName(record.tenant)) {
      throw new ValidationError({ issues: [{ path: `${path}.tenant`, message: `must be 1–64 letters, digits, '.', '_' or '-', got '${String(record.tenant).slice(0, 40)}'` }] })
    }
    const role = parseApiKeyRole(record.role, `${path}.role`)
    const hash = 'key' in record ? hashApiKey(record.key) : record.hash
    if (!/^sha256:[0-9a-f]{64}$/.test(hash)) {
      throw new ValidationError({ issues: [{ path: `${path}.hash`, message: `key hash for tenant '${record.tenant}' must be sha256:<64 hex>` }] })
    }
    const other = seen.get(hash)
    if (other !== undefined) throw new ValidationError({ issues: [{ path, message: `the same key is configured twice (${other} and ${record.tenant}:${role})` }] })
    seen.set(hash, `${record.tenant}:${role}`)
    const hex = hash.slice('sha256:'.length)
    return { identity: { tenant: record.tenant, role, keyId: hex.slice(0, 16) }, digest: Buffer.from(hex, 'hex') }
  })
  return {
    size: hashed.length,
    list: (tenant) => hashed.filter((record) => record.identity.tenant === tenant).map(({ identity }) => ({ keyId: identity.keyId, role: identity.role })),
    authenticate(presented) {
      const digest = createHash('sha256').update(presented, 'utf8').digest()
      let identity: ApiKeyIdentity | null = null
      // Every record is compared, in constant time each, whether or not one already matched.
      for (const record of hashed) if (timingSafeEqual(digest, record.digest) && identity === null) identity = record.identity
      return identity
    },
  }
}

/**
 * Parses `tenant:role=hld_…` or `tenant:role=sha256:…` entries, separated by commas or new
 * lines (the format of `HALDIR_API_KEYS` and of a keys file); `#` starts a comment. An entry
 * without a role is refused, naming the fix.
 */
export function parseApiKeys(text: string): (ApiKeyRecord | PlainApiKey)[] {
  const records: (ApiKeyRecord | PlainApiKey)[] = []
  for (const raw of text.split(/[\n,]/)) {
    const line = raw.replace(/#.*$/, '').trim()
    if (!line) continue
    const separator = line.indexOf('=')
    const owner = line.slice(0, separator).trim()
    const value = line.slice(separator + 1).trim()
    if (separator <= 0 || !owner || !value) {
      throw new ValidationError({ issues: [{ path: 'apiKeys', message: `expected tenant:role=hld_… or tenant:role=sha256:…, got '${line.slice(0, 40)}'` }] })
    }
    const colon = owner.indexOf(':')
    if (colon < 0) {
      throw new ValidationError({
        issues: [{ path: 'apiKeys', message: `the key of tenant '${owner.slice(0, 40)}' names no role: write ${owner.slice(0, 40)}:ROLE=… (roles: ${apiKeyRoles.join(', ')})` }],
      })
    }
    const tenant = owner.slice(0, colon).trim()
    const role = parseApiKeyRole(owner.slice(colon + 1).trim(), `apiKeys (tenant '${tenant.slice(0, 40)}')`)
    records.push(value.startsWith('sha256:') ? { tenant, role, hash: value } : { tenant, role, key: value })
  }
  return records
}

/**
 * Several key stores as one (the configured keys, then the keys minted through the API): a key
 * is whoever the first store that knows it says.
 */
export function combineKeyStores(...stores: readonly ApiKeyStore[]): ApiKeyStore {
  return {
    get size() {
      return stores.reduce((sum, store) => sum + store.size, 0)
    },
    authenticate: (presented) => {
      for (const store of stores) {
        const identity = store.authenticate(presented)
        if (identity) return identity
      }
      return null
    },
    list: (tenant) => stores.flatMap((store) => store.list?.(tenant) ?? []),
  }
}
