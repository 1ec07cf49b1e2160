import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { ValidationError } from '@haldir/core'

/** One configured key: the tenant it acts for and the SHA-256 of the key (never the key). */
export interface ApiKeyRecord {
  tenant: string
  /** `sha256:<64 hex>` */
  hash: string
}

export interface ApiKeyStore {
  /** The tenant of a presented key, or `null`; the comparison does not stop at the first match. */
  authenticate(presented: string): string | null
  readonly size: number
}

const KEY_PREFIX = 'hld_'

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
 * text is not kept.
 */
export function apiKeyStore(records: readonly (ApiKeyRecord | { tenant: string; key: string })[]): ApiKeyStore {
  const hashed = records.map((record) => {
    const hash = 'key' in record ? hashApiKey(record.key) : record.hash
    if (!/^sha256:[0-9a-f]{64}$/.test(hash)) {
      throw new ValidationError({ issues: [{ path: 'apiKeys', message: `key hash for tenant '${record.tenant}' must be sha256:<64 hex>` }] })
    }
    return { tenant: record.tenant, digest: Buffer.from(hash.slice('sha256:'.length), 'hex') }
  })
  return {
    size: hashed.length,
    authenticate(presented) {
      const digest = createHash('sha256').update(presented, 'utf8').digest()
      let tenant: string | null = null
      // Every record is compared, in constant time each, whether or not one already matched.
      for (const record of hashed) if (timingSafeEqual(digest, record.digest) && tenant === null) tenant = record.tenant
      return tenant
    },
  }
}

/**
 * Parses `tenant=hld_…` or `tenant=sha256:…` pairs, separated by commas or new lines (the
 * format of `HALDIR_API_KEYS` and of a keys file); `#` starts a comment.
 */
export function parseApiKeys(text: string): (ApiKeyRecord | { tenant: string; key: string })[] {
  const records: (ApiKeyRecord | { tenant: string; key: string })[] = []
  for (const raw of text.split(/[\n,]/)) {
    const line = raw.replace(/#.*$/, '').trim()
    if (!line) continue
    const separator = line.indexOf('=')
    const tenant = line.slice(0, separator).trim()
    const value = line.slice(separator + 1).trim()
    if (separator <= 0 || !tenant || !value) {
      throw new ValidationError({ issues: [{ path: 'apiKeys', message: `expected tenant=hld_… or tenant=sha256:…, got '${line.slice(0, 40)}'` }] })
    }
    records.push(value.startsWith('sha256:') ? { tenant, hash: value } : { tenant, key: value })
  }
  return records
}
