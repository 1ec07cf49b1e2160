import { createHash, createPublicKey, verify } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HaldirApiServer, haldirApiServer, hex } from '../haldir-api.test-helper.ts'

// An RFC 6962 / 9162 verifier of our own (not the code under test), as upstream's helpers verify.
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest()
const node = (left: Buffer, right: Buffer) => sha(Buffer.from([1]), left, right)
function rootFromInclusion(index: number, size: number, leaf: Buffer, path: Buffer[]): Buffer | null {
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of path) {
    if (sn === 0) return null
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r)
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1
        sn >>= 1
      }
    } else r = node(r, p)
    fn >>= 1
    sn >>= 1
  }
  return sn === 0 ? r : null
}
function consistent(first: number, second: number, firstRoot: Buffer, secondRoot: Buffer, proof: Buffer[]): boolean {
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot)
  const path = [...proof]
  if ((first & (first - 1)) === 0) path.unshift(firstRoot)
  let fn = first - 1
  let sn = second - 1
  while (fn % 2 === 1) {
    fn >>= 1
    sn >>= 1
  }
  let fr = path[0] as Buffer
  let sr = path[0] as Buffer
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = node(c, fr)
      sr = node(c, sr)
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1
        sn >>= 1
      }
    } else sr = node(sr, c)
    fn >>= 1
    sn >>= 1
  }
  return sn === 0 && fr.equals(firstRoot) && sr.equals(secondRoot)
}
const bytes = (text: string) => Buffer.from(text, 'hex')

let api: HaldirApiServer
const entryIds: string[] = []
beforeAll(async () => {
  api = await haldirApiServer()
  const session = ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'ledger', scopes: ['read'] } })).body as { session_id: string }).session_id
  for (let index = 0; index < 12; index++) entryIds.push((await api.call('POST', '/v1/audit', { body: { session_id: session, action: `a${index}` } })).body.entry_id as string)
})
afterAll(() => api.close())

describe('tree heads, proofs and the STH log over the Haldir API (HALDIR-API.md §10)', () => {
  it('signs a tree head with Ed25519 over sth:<size>:<root>:<signed_at>, with the key the JWKS publishes', async () => {
    const { status, body: head } = await api.call('GET', '/v1/audit/tree-head')
    expect(status).toBe(200)
    expect(head).toEqual({
      tree_size: 13,
      root_hash: expect.stringMatching(hex(64)),
      signed_at: expect.any(Number),
      signature: expect.stringMatching(hex(128)),
      algorithm: 'Ed25519-over-canonical-sth',
      public_key: expect.stringMatching(hex(64)),
      key_id: expect.stringMatching(hex(16)),
      signing_key_source: 'haldir-ledger',
      tenant_id: 'acme',
    })
    const jwks = (await (await fetch(`${api.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string; x: string }[] }
    const jwk = jwks.keys.find((key) => key.kid === head.key_id)
    expect(Buffer.from(jwk?.x as string, 'base64url').toString('hex')).toBe(head.public_key)
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk?.x as string }, format: 'jwk' })
    expect(verify(null, Buffer.from(`sth:${head.tree_size}:${head.root_hash}:${head.signed_at}`), key, bytes(head.signature as string))).toBe(true)
  })

  it('proves every entry included, checked by an independent RFC 6962 verifier; an unknown entry is upstream\'s coded 404', async () => {
    for (const entryId of entryIds) {
      const { status, body } = await api.call('GET', `/v1/audit/inclusion-proof/${entryId}`)
      expect(status).toBe(200)
      expect(Object.keys(body).sort()).toEqual(['algorithm', 'audit_path', 'entry_id', 'leaf_hash', 'leaf_index', 'root_hash', 'sth', 'tree_size'])
      expect(body).toMatchObject({ algorithm: 'RFC6962-SHA256', entry_id: entryId, sth: { tree_size: body.tree_size, root_hash: body.root_hash } })
      const root = rootFromInclusion(body.leaf_index as number, body.tree_size as number, bytes(body.leaf_hash as string), (body.audit_path as string[]).map(bytes))
      expect(root?.toString('hex')).toBe(body.root_hash)
    }
    expect(await api.call('GET', '/v1/audit/inclusion-proof/aud_missing')).toMatchObject({ status: 404, body: { error: "audit entry not found in this tenant's log", code: 'not_found', entry_id: 'aud_missing', request_id: expect.any(String) } })
    expect((await api.call('GET', `/v1/audit/inclusion-proof/${entryIds[0]}`, { key: api.globex })).status).toBe(404)
  })

  it('proves consistency between any two sizes (checked independently), and refuses bad sizes in upstream words', async () => {
    for (let second = 1; second <= 13; second++) {
      for (let first = 1; first <= second; first++) {
        const { status, body } = await api.call('GET', `/v1/audit/consistency-proof?first=${first}&second=${second}`)
        expect(status).toBe(200)
        expect(Object.keys(body).sort()).toEqual(['algorithm', 'consistency_path', 'first_root', 'first_size', 'second_root', 'second_size'])
        expect(consistent(first, second, bytes(body.first_root as string), bytes(body.second_root as string), (body.consistency_path as string[]).map(bytes)), `${first}→${second}`).toBe(true)
      }
    }
    expect(await api.call('GET', '/v1/audit/consistency-proof?first=a&second=2')).toMatchObject({ status: 400, body: { error: 'first and second must be integers', code: 'invalid_argument' } })
    for (const [first, second] of [[0, 3], [4, 3], [1, 99]]) {
      expect(await api.call('GET', `/v1/audit/consistency-proof?first=${first}&second=${second}`)).toMatchObject({ status: 400, body: { error: "invalid first/second sizes for this tenant's tree", code: 'invalid_range', first, second } })
    }
  })

  it('keeps the STH log of every head signed, and tells a pinned head that matches from one that does not', async () => {
    const head = (await api.call('GET', '/v1/audit/tree-head')).body
    const log = await api.call('GET', '/v1/audit/sth-log')
    expect(log.body).toMatchObject({ tenant_id: 'acme', count: expect.any(Number), earliest: { tree_size: expect.any(Number) }, latest: { tree_size: head.tree_size, root_hash: head.root_hash } })
    const row = (log.body.sths as Record<string, unknown>[]).at(-1)
    expect(Object.keys(row as object).sort()).toEqual(['algorithm', 'key_id', 'public_key', 'recorded_at', 'root_hash', 'signature', 'signed_at', 'tenant_id', 'tree_size'])
    expect((await api.call('GET', `/v1/audit/sth-log?since=${head.tree_size}`)).body).toMatchObject({ sths: [] })
    expect((await api.call('GET', `/v1/audit/sth-log/verify?pinned_size=${head.tree_size}&pinned_root=${(head.root_hash as string).toUpperCase()}`)).body).toMatchObject({ verified: true, reason: 'match', pinned_tree_size: head.tree_size })
    expect((await api.call('GET', `/v1/audit/sth-log/verify?pinned_size=${head.tree_size}&pinned_root=${'0'.repeat(64)}`)).body).toMatchObject({ verified: false, reason: 'equivocation', recorded_root_hash: head.root_hash })
    expect((await api.call('GET', `/v1/audit/sth-log/verify?pinned_size=999&pinned_root=${'0'.repeat(64)}`)).body).toMatchObject({ verified: false, reason: 'not_in_log' })
    expect(await api.call('GET', '/v1/audit/sth-log/verify?pinned_size=3')).toMatchObject({ status: 400, body: { code: 'invalid_argument', error: 'pinned_size and pinned_root are required query params' } })
    expect((await api.call('GET', '/v1/audit/sth-log?limit=x')).body).toMatchObject({ code: 'invalid_argument' })
  })
})
