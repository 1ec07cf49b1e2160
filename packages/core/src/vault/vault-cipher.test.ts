import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { resolveKeys } from '../internal/resolve-keys.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { createVaultCipher, parseKey } from './vault-cipher.ts'

describe('vault cipher', () => {
  const masterKey = randomBytes(32)
  const cipher = createVaultCipher({ masterKey })

  it('seals with a fresh nonce each time and opens to the value', () => {
    const first = cipher.seal('db_password', 'pg_xxx')
    const second = cipher.seal('db_password', 'pg_xxx')
    expect(first.nonce).not.toBe(second.nonce)
    expect(first.ciphertext).not.toBe(second.ciphertext)
    expect(Buffer.from(first.nonce, 'base64')).toHaveLength(12)
    expect(JSON.stringify(first)).not.toContain('pg_xxx')
    expect(cipher.open('db_password', first)).toBe('pg_xxx')
  })

  it('refuses a ciphertext moved under another name (the name is the AAD)', () => {
    const sealed = cipher.seal('db_password', 'pg_xxx')
    expect(() => cipher.open('other_name', sealed)).toThrow()
  })

  it('refuses a tampered ciphertext', () => {
    const sealed = cipher.seal('n', 'value')
    const bytes = Buffer.from(sealed.ciphertext, 'base64')
    bytes[0] = (bytes[0] ?? 0) ^ 1
    expect(() => cipher.open('n', { ...sealed, ciphertext: bytes.toString('base64') })).toThrow()
  })

  it('opens old ciphertexts after rotation through previous keys', () => {
    const old = cipher.seal('n', 'before rotation')
    const rotated = createVaultCipher({ masterKey: randomBytes(32), previousKeys: [masterKey] })
    expect(rotated.keyId).not.toBe(old.keyId)
    expect(rotated.open('n', old)).toBe('before rotation')
    expect(rotated.seal('n', 'after').keyId).toBe(rotated.keyId)
    expect(() => createVaultCipher({ masterKey: randomBytes(32) }).open('n', old)).toThrow(/No master key/)
  })

  it('parses hex and base64 keys and refuses other lengths', () => {
    const key = randomBytes(32)
    expect(Buffer.from(parseKey(key.toString('hex')))).toEqual(key)
    expect(Buffer.from(parseKey(key.toString('base64')))).toEqual(key)
    expect(() => parseKey('abcd')).toThrow(ValidationError)
  })

  it('a durable backend refuses to start without a master key', () => {
    const saved = process.env.HALDIR_MASTER_KEY
    delete process.env.HALDIR_MASTER_KEY
    try {
      expect(() => resolveKeys({ durable: true, backendName: 'postgres' })).toThrow(/needs a master key/)
      expect(resolveKeys({ durable: false, backendName: 'memory' }).ephemeral).toBe(true)
    } finally {
      if (saved !== undefined) process.env.HALDIR_MASTER_KEY = saved
    }
  })
})
