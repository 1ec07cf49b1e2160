import { LRUCache } from 'lru-cache'
import type { ApprovalRuleRecord } from '../backend/haldir-backend.ts'
import type { SealedSecret, SecretBinding } from '../vault/vault-cipher.ts'
import { createSecretMask, type SecretMask } from './secret-mask.ts'
import type { StateStore } from './state-store.ts'

/** What the engine decides with besides the locked state: a tenant's vault (as a mask) and its approval rules. */
export interface TenantConfig {
  /** The config version it was read at; `null`: the tenant has stored no secret and no rule. */
  version: string | null
  mask: SecretMask | null
  approvalRules: readonly ApprovalRuleRecord[]
}

const EMPTY: TenantConfig = { version: null, mask: null, approvalRules: [] }

/**
 * Per tenant, its config as of a version. The engine compares the version inside each
 * operation's transaction with the cached one and rereads when they differ, so an entry is never
 * sealed with a secret unmasked and no call escapes a rule added before it was decided.
 */
export function createTenantConfigs(options: { store: StateStore; open: (binding: SecretBinding, sealed: SealedSecret) => string }) {
  const cache = new LRUCache<string, TenantConfig>({ max: 10_000 })
  return {
    current: (tenant: string): TenantConfig => cache.get(tenant) ?? EMPTY,
    async refresh(tenant: string): Promise<void> {
      // The version is read with the secrets, and the rules after: rules newer than the version
      // only make the next decision reread; rules older than it could let a call skip a rule.
      const { version, secrets } = await options.store.listSecrets(tenant)
      const approvalRules = await options.store.listApprovalRules(tenant)
      const values: string[] = []
      for (const secret of secrets) {
        try {
          values.push(options.open({ tenant, name: secret.name, scopeRequired: secret.scopeRequired }, secret.sealed))
        } catch {
          // A ciphertext that does not open cannot be read by anyone, so it cannot leak through a trail.
        }
      }
      cache.set(tenant, { version, mask: createSecretMask(values), approvalRules })
    },
  }
}
