import { createPublicKey, randomBytes, verify } from 'node:crypto'
import { createHaldir, memoryBackend, ValidationError } from '@haldir/core'
import { treeHeadBytes, treeKeyId } from '@haldir/core/backend'
import { describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { serveHaldir } from './serve-haldir.ts'

const key = createApiKey()
const keys = apiKeyStore([{ tenant: 'acme', role: 'admin', key }])

describe('GET /.well-known/jwks.json', () => {
  it('publishes the tree-head signing keys without a key, active first, earlier ones kept; a JWK verifies a head with node:crypto', async () => {
    const [current, earlier] = [randomBytes(32), randomBytes(32)]
    const backend = memoryBackend({ treeSigningKey: current, previousTreeSigningKeys: [earlier] })
    const running = await serveHaldir({ backend, apiKeys: keys, port: 0, publishTreeHeadsEveryMs: false })
    try {
      const response = await fetch(`${running.url}/.well-known/jwks.json`)
      expect(response.status).toBe(200)
      expect(response.headers.get('cache-control')).toBe('public, max-age=300')
      const jwks = (await response.json()) as { keys: { kid: string; x: string; 'x-haldir-source': string }[] }
      // The given key, the earlier one, and the one derived from the master key (which signed before a key was given).
      expect(jwks.keys).toHaveLength(3)
      expect(jwks.keys[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', use: 'sig', alg: 'EdDSA', kid: expect.stringMatching(/^[0-9a-f]{16}$/), x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), 'x-haldir-source': 'active' })
      expect(jwks.keys.slice(1).map((jwk) => jwk['x-haldir-source'])).toEqual(['previous', 'previous'])
      for (const jwk of jwks.keys) expect(jwk.kid).toBe(treeKeyId(Buffer.from(jwk.x, 'base64url')))

      const haldir = createHaldir({ backend, tenant: 'acme' })
      const session = await haldir.createSession({ agentId: 'signed', scopes: [] })
      await haldir.logAction(session.id, { tool: 'x' })
      const head = await haldir.getTreeHead()
      expect(head.keyId).toBe(jwks.keys[0]?.kid)
      const publicKey = createPublicKey({ key: { ...(jwks.keys[0] as object), kty: 'OKP', crv: 'Ed25519' } as import('node:crypto').JsonWebKey, format: 'jwk' })
      expect(verify(null, treeHeadBytes(head), publicKey, Buffer.from(head.signature, 'hex'))).toBe(true)
      expect(verify(null, treeHeadBytes({ ...head, treeSize: head.treeSize + 1 }), publicKey, Buffer.from(head.signature, 'hex'))).toBe(false)
    } finally {
      await running.close()
    }
  })
})

describe('the tree-head schedule', () => {
  it('signs and records a head for each tenant with new entries on its own, and none when it is off', async () => {
    for (const every of [40, false] as const) {
      const backend = memoryBackend()
      const running = await serveHaldir({ backend, apiKeys: keys, port: 0, publishTreeHeadsEveryMs: every })
      try {
        const haldir = createHaldir({ backend, tenant: 'acme' })
        const other = createHaldir({ backend, tenant: 'globex' })
        const session = await haldir.createSession({ agentId: 'scheduled', scopes: [] })
        await haldir.logAction(session.id, { tool: 'x' })
        await other.createSession({ agentId: 'elsewhere', scopes: [] })
        await new Promise((resolve) => setTimeout(resolve, 250))
        const heads = await haldir.listTreeHeads()
        if (every === false) {
          expect(heads).toEqual([])
        } else {
          expect(heads.map((head) => head.treeSize)).toEqual([2])
          expect(await other.listTreeHeads()).toMatchObject([{ treeSize: 1 }])
        }
      } finally {
        await running.close()
      }
    }
  })

  it('refuses an interval that is not a whole number of milliseconds ≥ 1', async () => {
    for (const every of [0, 1.5, -5]) {
      await expect(serveHaldir({ backend: memoryBackend(), apiKeys: keys, port: 0, publishTreeHeadsEveryMs: every })).rejects.toBeInstanceOf(ValidationError)
    }
  })
})
