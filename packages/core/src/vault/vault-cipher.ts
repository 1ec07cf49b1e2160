import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { ValidationError } from '../errors/validation-error.ts'

/** A secret at rest: nothing here reveals the value without the master key. */
export interface SealedSecret {
  /** Which master key sealed it, so keys can rotate while old ciphertexts still open. */
  keyId: string
  /** 96-bit GCM nonce, base64, fresh for every write. */
  nonce: string
  ciphertext: string
  tag: string
}

export interface VaultCipher {
  readonly keyId: string
  seal(name: string, value: string): SealedSecret
  open(name: string, sealed: SealedSecret): string
}

/**
 * AES-256-GCM with the secret's name as additional data, so a ciphertext moved under another
 * name fails to open. `previousKeys` only decrypt: rotate by making the old key previous.
 */
export function createVaultCipher(options: { masterKey: Uint8Array; previousKeys?: readonly Uint8Array[] }): VaultCipher {
  const keys = new Map<string, Uint8Array>()
  const activeId = keyIdOf(options.masterKey)
  keys.set(activeId, options.masterKey)
  for (const key of options.previousKeys ?? []) keys.set(keyIdOf(key), key)
  return {
    keyId: activeId,
    seal(name, value) {
      const nonce = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', options.masterKey, nonce)
      cipher.setAAD(Buffer.from(name, 'utf8'))
      const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()])
      return { keyId: activeId, nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') }
    },
    open(name, sealed) {
      const key = keys.get(sealed.keyId)
      if (!key) throw new Error(`No master key with id ${sealed.keyId} is configured to open secret '${name}'`)
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.nonce, 'base64'))
      decipher.setAAD(Buffer.from(name, 'utf8'))
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'))
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8')
    },
  }
}

function keyIdOf(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16)
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
