import { createHash, timingSafeEqual } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { ValidationError } from '@haldir/core'
import { z } from 'zod'
import { apiKeyRoles, type ApiKeyRole } from './api-key-role.ts'
import { type ApiKeyIdentity, type ApiKeyStore, createApiKey } from './api-keys.ts'

/** A key minted through the API (`POST /v1/keys`): its hash, never the key. */
export interface MintedKey {
  /** `sha256:<64 hex>` of the key. */
  hash: string
  /** The first 12 characters of the key (`hld_` + 8): how it is listed and revoked. */
  prefix: string
  name: string
  tenant: string
  role: ApiKeyRole
  /** Upstream key scopes, sorted, without duplicates (`['*']`: every scope the role allows). */
  scopes: string[]
  /** Epoch milliseconds. */
  createdAt: number
  /** Epoch milliseconds of the last use; 0 when never used. */
  lastUsed: number
  revoked: boolean
}

/** The keys minted through the API: authenticated like configured keys, listed and revoked per tenant. */
export interface KeyRegistry extends ApiKeyStore {
  /** A new key for a tenant (shown once: only its hash is kept); `key` when the caller made it already. */
  mint(options: { tenant: string; role: ApiKeyRole; name: string; scopes: readonly string[]; key?: string }): { key: string; record: MintedKey }
  /** The tenant's minted keys, newest first, revoked ones included. */
  listMinted(tenant: string): MintedKey[]
  /** Revokes the tenant's active keys with this prefix; whether there was one. */
  revoke(tenant: string, prefix: string): boolean
}

const fileSchema = z.object({
  version: z.literal(1),
  keys: z.array(
    z.object({
      hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
      prefix: z.string(),
      name: z.string(),
      tenant: z.string(),
      role: z.enum(apiKeyRoles),
      scopes: z.array(z.string()),
      createdAt: z.number(),
      lastUsed: z.number(),
      revoked: z.boolean(),
    }),
  ),
})

/**
 * Minted keys, in this process, or kept in `file` (JSON, written whole to a temporary file and
 * renamed over it; the file holds hashes only) so they survive a restart. Keys are looked up by
 * the SHA-256 of what is presented and compared in constant time. `lastUsed` is written to the
 * file with the next change, not on every request.
 */
export function keyRegistry(options: { file?: string; now?: () => number } = {}): KeyRegistry {
  const now = options.now ?? Date.now
  const byHash = new Map<string, MintedKey>()
  if (options.file) for (const record of load(options.file)) byHash.set(record.hash, record)
  const save = () => {
    if (!options.file) return
    mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 })
    const temporary = `${options.file}.${process.pid}.tmp`
    writeFileSync(temporary, `${JSON.stringify({ version: 1, keys: [...byHash.values()] }, null, 2)}\n`, { mode: 0o600 })
    renameSync(temporary, options.file)
  }
  return {
    get size() {
      let active = 0
      for (const record of byHash.values()) if (!record.revoked) active++
      return active
    },
    authenticate(presented): ApiKeyIdentity | null {
      const digest = createHash('sha256').update(presented, 'utf8').digest()
      const record = byHash.get(`sha256:${digest.toString('hex')}`)
      if (!record || record.revoked || !timingSafeEqual(digest, Buffer.from(record.hash.slice(7), 'hex'))) return null
      record.lastUsed = now()
      return { tenant: record.tenant, role: record.role, keyId: record.hash.slice(7, 23), ...(record.scopes.includes('*') ? {} : { scopes: record.scopes }) }
    },
    list: (tenant) => [...byHash.values()].filter((record) => record.tenant === tenant && !record.revoked).map((record) => ({ keyId: record.hash.slice(7, 23), role: record.role })),
    mint({ tenant, role, name, scopes, key = createApiKey() }) {
      const record: MintedKey = {
        hash: `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`,
        prefix: key.slice(0, 12),
        name,
        tenant,
        role,
        scopes: [...new Set(scopes)].sort(),
        createdAt: now(),
        lastUsed: 0,
        revoked: false,
      }
      byHash.set(record.hash, record)
      save()
      return { key, record: { ...record } }
    },
    listMinted: (tenant) =>
      [...byHash.values()]
        .filter((record) => record.tenant === tenant)
        .sort((a, b) => b.createdAt - a.createdAt)
        .map((record) => ({ ...record })),
    revoke(tenant, prefix) {
      let revoked = false
      for (const record of byHash.values()) {
        if (record.tenant === tenant && record.prefix === prefix && !record.revoked) {
          record.revoked = true
          revoked = true
        }
      }
      if (revoked) save()
      return revoked
    },
  }
}

function load(file: string): MintedKey[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new ValidationError({ message: `the minted-keys file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, cause: error })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new ValidationError({ message: `the minted-keys file ${file} is not JSON`, cause: error })
  }
  const parsed = fileSchema.safeParse(json)
  // Refused, never reset: an operator finds out at start-up rather than when every minted key fails.
  if (!parsed.success) throw new ValidationError({ message: `the minted-keys file ${file} is not a haldir key registry (${parsed.error.issues[0]?.message ?? 'bad shape'})` })
  return parsed.data.keys
}
