import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { IntegrityError } from '../errors/integrity-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { resolveKeys } from '../internal/resolve-keys.ts'
import { createVaultCipher, parseKey } from './vault-cipher.ts'

describe('vault cipher', () => {
  const masterKey = randomBytes(32)
  const cipher = createVaultCipher({ masterKey })
  const db = { tenant: 'acme', name: 'db_password', scopeRequired: 'db:write' }

  it('seals with a fresh nonce each time and opens to the value', () => {
    const first = cipher.seal(db, 'pg_xxx_secret')
    const second = cipher.seal(db, 'pg_xxx_secret')
    expect(first.nonce).not.toBe(second.nonce)
    expect(first.ciphertext).not.toBe(second.ciphertext)
    expect(first.format).toBe(2)
    expect(Buffer.from(first.nonce, 'base64')).toHaveLength(12)
    expect(JSON.stringify(first)).not.toContain('pg_xxx_secret')
    expect(cipher.open(db, first)).toBe('pg_xxx_secret')
  })

  it.each([
    ['copied into another tenant', { ...db, tenant: 'other' }],
    ['moved under another name', { ...db, name: 'other_name' }],
    ['with its required scope cleared', { ...db, scopeRequired: null }],
    ['with its required scope widened', { ...db, scopeRequired: 'read' }],
  ])('refuses a ciphertext %s: IntegrityError, no value', (_label, binding) => {
    const sealed = cipher.seal(db, 'pg_xxx_secret')
    expect(() => cipher.open(binding, sealed)).toThrow(IntegrityError)
  })

  it('refuses a ciphertext whose key id was rewritten to another configured key', () => {
    const other = randomBytes(32)
    const both = createVaultCipher({ masterKey, previousKeys: [other] })
    const sealed = both.seal(db, 'pg_xxx_secret')
    const otherId = createVaultCipher({ masterKey: other }).keyId
    expect(() => both.open(db, { ...sealed, keyId: otherId })).toThrow(IntegrityError)
  })

  it('refuses a tampered ciphertext', () => {
    const sealed = cipher.seal(db, 'value-1234')
    const bytes = Buffer.from(sealed.ciphertext, 'base64')
    bytes[0] = (bytes[0] ?? 0) ^ 1
    expect(() => cipher.open(db, { ...sealed, ciphertext: bytes.toString('base64') })).toThrow(IntegrityError)
  })

  it('opens old ciphertexts after rotation through previous keys', () => {
    const old = cipher.seal(db, 'before rotation')
    const rotated = createVaultCipher({ masterKey: randomBytes(32), previousKeys: [masterKey] })
    expect(rotated.keyId).not.toBe(old.keyId)
    expect(rotated.open(db, old)).toBe('before rotation')
    expect(rotated.seal(db, 'after').keyId).toBe(rotated.keyId)
    expect(() => createVaultCipher({ masterKey: randomBytes(32) }).open(db, old)).toThrow(/No master key with id .*HALDIR_PREVIOUS_MASTER_KEYS/)
  })

  it('still opens a ciphertext of the old format (bound to its name only)', async () => {
    const { createCipheriv } = await import('node:crypto')
    const nonce = randomBytes(12)
    const legacy = createCipheriv('aes-256-gcm', masterKey, nonce)
    legacy.setAAD(Buffer.from(db.name, 'utf8'))
    const ciphertext = Buffer.concat([legacy.update('legacy value', 'utf8'), legacy.final()])
    const sealed = { keyId: cipher.keyId, nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: legacy.getAuthTag().toString('base64') }
    expect(cipher.open(db, sealed)).toBe('legacy value')
    expect(() => cipher.open({ ...db, name: 'renamed' }, sealed)).toThrow(IntegrityError)
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

  it('keeps the audit keys of rotated master keys, so old entries still verify', () => {
    const old = randomBytes(32)
    const current = randomBytes(32)
    const before = resolveKeys({ masterKey: old, durable: true, backendName: 'test' })
    const after = resolveKeys({ masterKey: current, previousMasterKeys: [old], durable: true, backendName: 'test' })
    expect(after.auditKeyId).not.toBe(before.auditKeyId)
    expect(Buffer.from(after.auditKeys.get(before.auditKeyId) as Uint8Array)).toEqual(Buffer.from(before.auditKey))
  })
})
