import { LRUCache } from 'lru-cache'
import type { SealedSecret, SecretBinding } from '../vault/vault-cipher.ts'
import { createSecretMask, type SecretMask } from './secret-mask.ts'
import type { StateStore } from './state-store.ts'

export interface VaultMask {
  /** The vault version the mask was made from; `null`: the tenant has no secrets. */
  version: string | null
  mask: SecretMask | null
}

const EMPTY: VaultMask = { version: null, mask: null }

/**
 * Per tenant, a mask of every value in its vault, made from the vault at a version. The engine
 * compares the version inside each operation's transaction with the one its mask was made from,
 * and rereads the vault when they differ, so an entry is never sealed with a secret unmasked.
 */
export function createVaultMasks(options: { store: StateStore; open: (binding: SecretBinding, sealed: SealedSecret) => string }) {
  const cache = new LRUCache<string, VaultMask>({ max: 10_000 })
  return {
    current: (tenant: string): VaultMask => cache.get(tenant) ?? EMPTY,
    async refresh(tenant: string): Promise<void> {
      const { version, secrets } = await options.store.listSecrets(tenant)
      const values: string[] = []
      for (const secret of secrets) {
        try {
          values.push(options.open({ tenant, name: secret.name, scopeRequired: secret.scopeRequired }, secret.sealed))
        } catch {
          // A ciphertext that does not open cannot be read by anyone, so it cannot leak through a trail.
        }
      }
      cache.set(tenant, { version, mask: createSecretMask(values) })
    },
  }
}
