import { aes256GcmOpen, aes256GcmSeal, fromBase64, fromHex, randomBytes, toBase64 } from '#crypto'
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
      const { ciphertext, tag } = aes256GcmSeal(options.masterKey, nonce, UTF8.encode(value), associatedData(binding, activeId, 2))
      return { keyId: activeId, nonce: toBase64(nonce), ciphertext: toBase64(ciphertext), tag: toBase64(tag), format: 2 }
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
        const nonce = fromBase64(sealed.nonce)
        if (nonce.length !== 12) throw new RangeError('the nonce is not 96 bits')
        const plaintext = aes256GcmOpen(key, nonce, fromBase64(sealed.ciphertext), fromBase64(sealed.tag), associatedData(binding, sealed.keyId, sealed.format ?? 1))
        return new TextDecoder().decode(plaintext)
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

const UTF8 = new TextEncoder()

// NUL cannot occur in a tenant, name or scope (validation refuses it), so it separates them unambiguously.
function associatedData(binding: SecretBinding, keyId: string, format: 1 | 2): Uint8Array {
  if (format === 1) return UTF8.encode(binding.name)
  return UTF8.encode(['haldir-vault-v2', binding.tenant, binding.name, binding.scopeRequired ?? '', keyId].join('\u0000'))
}

/**
 * Parses a 32-byte key given as 64 hex characters or base64 (the forms `HALDIR_MASTER_KEY` takes).
 */
export function parseKey(text: string, what = 'master key'): Uint8Array {
  const trimmed = text.trim()
  let bytes: Uint8Array | undefined
  try {
    bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? fromHex(trimmed) : fromBase64(trimmed)
  } catch {
    bytes = undefined
  }
  if (bytes?.length !== 32) {
    throw new ValidationError({ issues: [{ path: what, message: 'must be 32 bytes, as 64 hex characters or base64' }] })
  }
  return bytes
}
