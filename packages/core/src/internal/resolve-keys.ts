import { createHmac, randomBytes } from 'node:crypto'
import { ValidationError } from '../errors/validation-error.ts'
import { parseKey } from '../vault/vault-cipher.ts'

export type KeyInput = string | Uint8Array

export interface ResolvedKeys {
  masterKey: Uint8Array
  previousKeys: Uint8Array[]
  auditKey: Uint8Array
  ephemeral: boolean
}

/**
 * Resolves the vault and audit keys of a backend: options first, then `HALDIR_MASTER_KEY` /
 * `HALDIR_AUDIT_KEY`. A durable backend refuses to start without a master key (its secrets
 * would be unreadable after a restart); the memory backend may make an ephemeral one.
 * Without an explicit audit key it is derived from the master key, so one key is enough.
 */
export function resolveKeys(options: {
  masterKey?: KeyInput
  previousMasterKeys?: readonly KeyInput[]
  auditKey?: KeyInput
  durable: boolean
  backendName: string
}): ResolvedKeys {
  const masterInput = options.masterKey ?? process.env.HALDIR_MASTER_KEY
  if (masterInput === undefined || masterInput === '') {
    if (options.durable) {
      throw new ValidationError({
        message: `The ${options.backendName} backend needs a master key: pass { masterKey } or set HALDIR_MASTER_KEY (32 bytes, hex or base64)`,
        issues: [{ path: 'masterKey', message: 'required for a durable backend' }],
      })
    }
  }
  const ephemeral = masterInput === undefined || masterInput === ''
  const masterKey = ephemeral ? randomBytes(32) : toKey(masterInput as KeyInput, 'masterKey')
  const auditInput = options.auditKey ?? process.env.HALDIR_AUDIT_KEY
  const auditKey =
    auditInput === undefined || auditInput === ''
      ? createHmac('sha256', masterKey).update('haldir audit key v1').digest()
      : toKey(auditInput, 'auditKey')
  return { masterKey, previousKeys: (options.previousMasterKeys ?? []).map((key) => toKey(key, 'previousMasterKeys')), auditKey, ephemeral }
}

function toKey(input: KeyInput, what: string): Uint8Array {
  if (typeof input === 'string') return parseKey(input, what)
  if (input.length !== 32) throw new ValidationError({ issues: [{ path: what, message: 'must be 32 bytes' }] })
  return input
}
