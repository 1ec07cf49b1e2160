import type { HaldirBackend, LedgerKey } from '@haldir/core'
import type { Hono } from 'hono'
import type { ServerEnv } from './server-env.ts'

/** One Ed25519 public key as a JSON Web Key (RFC 8037), with whether it signs new heads. */
export interface TreeHeadJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  use: 'sig'
  alg: 'EdDSA'
  /** First 16 hex of SHA-256 of the raw key: the `keyId` a tree head names. */
  kid: string
  /** The raw 32-byte public key, base64url without padding. */
  x: string
  /** `active`: signs new heads; `previous`: signed earlier heads (kept so they still verify). */
  'x-haldir-source': 'active' | 'previous'
}

/** The ledger's signing keys as a JWKS: the active key first, then every earlier one. */
export function treeHeadJwks(keys: readonly LedgerKey[]): { keys: TreeHeadJwk[] } {
  const ordered = [...keys].sort((a, b) => Number(b.active) - Number(a.active))
  return {
    keys: ordered.map((key) => ({
      kty: 'OKP',
      crv: 'Ed25519',
      use: 'sig',
      alg: 'EdDSA',
      kid: key.keyId,
      x: Buffer.from(key.publicKey, 'hex').toString('base64url'),
      'x-haldir-source': key.active ? 'active' : 'previous',
    })),
  }
}

/**
 * `GET /.well-known/jwks.json`, without a key: the public keys that sign (and signed) tree heads,
 * so anyone can check a head, a proof or an export bundle. The keys are the server's, the same
 * for every tenant (each tenant's log is signed with them). Cacheable for five minutes.
 */
export function mountJwks(app: Hono<ServerEnv>, backend: HaldirBackend): void {
  app.get('/.well-known/jwks.json', async (c) => {
    // The signing keys are the backend's, not a tenant's: any tenant name reads them.
    const keys = await backend.ledgerKeys({ tenant: 'jwks' })
    c.header('Cache-Control', 'public, max-age=300')
    return c.json(treeHeadJwks(keys))
  })
}
