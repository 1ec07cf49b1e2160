import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { IntegrityError } from '../errors/integrity-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { keyIdOf } from '../internal/key-id.ts'

/** A secret at rest: nothing here reveals the value without the master key. */
export interface SealedSecret {
  /** Which master key sealed it, so keys can rotate while old ciphertexts still open. */
  keyId: string
  /** 96-bit GCM nonce, base64, fresh for every write. */
  nonce: string
  ciphertext: string
  tag: string
  /**
   * `2`: bound to tenant, name, required scope and key id. `1` (or absent): bound to the name only,
   * as sealed before this version; opened, then resealed as `2` by the engine.
   */
  format?: 1 | 2
}

/** What a ciphertext is bound to: moving it to another tenant or name, or changing its scope, makes it fail to open. */
export interface SecretBinding {
  tenant: string
  name: string
  scopeRequired: string | null
}

export interface VaultCipher {
  readonly keyId: string
  seal(binding: SecretBinding, value: string): SealedSecret
  /** @throws IntegrityError when the ciphertext, or anything it is bound to, was changed. */
  open(binding: SecretBinding, sealed: SealedSecret): string
}

/**
 * AES-256-GCM with the secret's tenant, name, required scope and key id as additional data: a
 * ciphertext copied into another tenant, renamed, or whose required scope was cleared in the
 * database fails to open. `previousKeys` only decrypt: rotate by making the old key previous.
 */
export function createVaultCipher(options: { masterKey: Uint8Array; previousKeys?: readonly Uint8Array[] }): VaultCipher {
  const keys = new Map<string, Uint8Array>()
  const activeId = keyIdOf(options.masterKey)
  keys.set(activeId, options.masterKey)
  for (const key of options.previousKeys ?? []) keys.set(keyIdOf(key), key)
  return {
    keyId: activeId,
    seal(binding, value) {
      const nonce = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', options.masterKey, nonce)
      cipher.setAAD(associatedData(binding, activeId, 2))
      const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()])
      return { keyId: activeId, nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64'), format: 2 }
    },
    open(binding, sealed) {
      const key = keys.get(sealed.keyId)
      if (!key) {
        throw new IntegrityError({
          message: `No master key with id ${sealed.keyId} is configured to open secret '${binding.name}': pass the key that sealed it in previousMasterKeys (HALDIR_PREVIOUS_MASTER_KEYS)`,
          data: { keyId: sealed.keyId, name: binding.name },
        })
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.nonce, 'base64'))
        decipher.setAAD(associatedData(binding, sealed.keyId, sealed.format ?? 1))
        decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'))
        return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8')
      } catch (error) {
        throw new IntegrityError({
          message: `Secret '${binding.name}' does not open: its ciphertext, tenant, name, required scope or key id was changed in storage`,
          data: { name: binding.name },
          cause: error,
        })
      }
    },
  }
}

// NUL cannot occur in a tenant, name or scope (validation refuses it), so it separates them unambiguously.
function associatedData(binding: SecretBinding, keyId: string, format: 1 | 2): Buffer {
  if (format === 1) return Buffer.from(binding.name, 'utf8')
  return Buffer.from(['haldir-vault-v2', binding.tenant, binding.name, binding.scopeRequired ?? '', keyId].join('\u0000'), 'utf8')
}

/**
 * Parses a 32-byte key given as 64 hex characters or base64 (the forms `HALDIR_MASTER_KEY` takes).
 */
export function parseKey(text: string, what = 'master key'): Uint8Array {
  const trimmed = text.trim()
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64')
  if (bytes.length !== 32) {
    throw new ValidationError({ issues: [{ path: what, message: 'must be 32 bytes, as 64 hex characters or base64' }] })
  }
  return bytes
}
