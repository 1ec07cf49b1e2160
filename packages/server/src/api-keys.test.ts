import { ValidationError } from '@haldir/core'
import { describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey, hashApiKey, parseApiKeys } from './api-keys.ts'

describe('API keys', () => {
  it('parses tenant:role=key entries, plain or hashed, and never keeps the plain text', () => {
    const key = createApiKey()
    expect(key).toMatch(/^hld_[A-Za-z0-9_-]{43}$/)
    const records = parseApiKeys(`acme:agent=${key}\n# comment\nglobex:auditor=${hashApiKey('hld_other')}, initech : admin = hld_third`)
    expect(records.map((record) => [record.tenant, record.role])).toEqual([
      ['acme', 'agent'],
      ['globex', 'auditor'],
      ['initech', 'admin'],
    ])
    const store = apiKeyStore(records)
    expect(store.authenticate(key)).toEqual({ tenant: 'acme', role: 'agent', keyId: hashApiKey(key).slice(7, 23) })
    expect(store.authenticate('hld_other')).toMatchObject({ tenant: 'globex', role: 'auditor' })
    expect(store.authenticate('hld_third')).toMatchObject({ tenant: 'initech', role: 'admin' })
    expect(store.authenticate('hld_unknown')).toBeNull()
    expect(JSON.stringify(store)).not.toContain(key)
  })

  it('refuses an entry without a role, naming the fix, instead of guessing one', () => {
    const error = (() => {
      try {
        parseApiKeys(`acme=${createApiKey()}`)
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as Error).message).toContain("the key of tenant 'acme' names no role: write acme:ROLE=… (roles: admin, agent, auditor, approver)")
  })

  it('refuses an unknown role with the nearest one, a bad tenant, a bad hash and a key configured twice', () => {
    expect(() => parseApiKeys('acme:admn=hld_x')).toThrow(/unknown role 'admn' \(did you mean admin\?\); roles: admin, agent, auditor, approver/)
    expect(() => parseApiKeys('no-separator')).toThrow(ValidationError)
    expect(() => apiKeyStore([{ tenant: 'x', role: 'admin', hash: 'md5:abc' }])).toThrow(ValidationError)
    expect(() => apiKeyStore([{ tenant: 'has space', role: 'admin', key: 'hld_x' }])).toThrow(/tenant/)
    // A JavaScript caller without types: no role is not a default role.
    expect(() => apiKeyStore([{ tenant: 'x', key: 'hld_x' } as never])).toThrow(/unknown role undefined/)
    expect(() => apiKeyStore([{ tenant: 'x', role: 'admin', key: 'hld_same' }, { tenant: 'y', role: 'auditor', key: 'hld_same' }])).toThrow(/configured twice \(x:admin and y:auditor\)/)
  })
})
