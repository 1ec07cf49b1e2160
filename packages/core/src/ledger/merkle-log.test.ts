import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { leafHash } from './merkle-hash.ts'
import { appendLeaves, consistencyPath, inclusionPath, type NodeKey, nodeKey, nodesRead, peaksOf, rootOf } from './merkle-log.ts'
import { signTreeHead, treeKeyId, treeSigningKey, verifyTreeHead } from './tree-head.ts'
import { verifyConsistency, verifyInclusion } from './verify-merkle.ts'

// ---- An independent RFC 6962 implementation: naive recursion over the leaves, its own hashing. ----
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest()
const hex = (buffer: Buffer) => buffer.toString('hex')
const refLeaf = (data: Buffer) => sha(Buffer.from([0]), data)
const refNode = (left: Buffer, right: Buffer) => sha(Buffer.from([1]), left, right)
const refSplit = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1)
// MTH of a run of leaves depends only on those leaves: remembered by the run (its first leaf and length).
const remembered = new Map<string, Buffer>()
function refMth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha()
  if (leaves.length === 1) return leaves[0] as Buffer
  const key = `${hex(leaves[0] as Buffer)}:${leaves.length}`
  const known = remembered.get(key)
  if (known) return known
  const k = refSplit(leaves.length)
  const root = refNode(refMth(leaves.slice(0, k)), refMth(leaves.slice(k)))
  remembered.set(key, root)
  return root
}
function refPath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return []
  const k = refSplit(leaves.length)
  return m < k ? [...refPath(m, leaves.slice(0, k)), refMth(leaves.slice(k))] : [...refPath(m - k, leaves.slice(k)), refMth(leaves.slice(0, k))]
}
function refSubproof(m: number, leaves: Buffer[], whole: boolean): Buffer[] {
  if (m === leaves.length) return whole ? [] : [refMth(leaves)]
  const k = refSplit(leaves.length)
  return m <= k ? [...refSubproof(m, leaves.slice(0, k), whole), refMth(leaves.slice(k))] : [...refSubproof(m - k, leaves.slice(k), false), refMth(leaves.slice(0, k))]
}
// RFC 9162 §2.1.3.2, written again from the text, on buffers.
function refVerifyInclusion(index: number, size: number, leaf: Buffer, path: Buffer[], root: Buffer): boolean {
  if (index >= size) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of path) {
    if (sn === 0) return false
    if ((fn & 1) === 1 || fn === sn) {
      r = refNode(p, r)
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>= 1
        sn >>= 1
      }
    } else r = refNode(r, p)
    fn >>= 1
    sn >>= 1
  }
  return sn === 0 && r.equals(root)
}

/** A log built only through appendLeaves, kept as the store keeps it: every complete node by key. */
function buildLog(leafData: Buffer[], batches: number[] = [leafData.length]) {
  const stored = new Map<string, string>()
  let size = 0
  let offset = 0
  for (const batch of batches) {
    const peaks = peaksOf(size).map((key) => stored.get(nodeKey(key.level, key.index)) as string)
    const appended = appendLeaves(size, peaks, leafData.slice(offset, offset + batch).map((data) => leafHash(data)))
    for (const { level, index, hash } of appended.nodes) stored.set(nodeKey(level, index), hash)
    size = appended.size
    offset += batch
  }
  const read = (key: NodeKey) => {
    const hash = stored.get(nodeKey(key.level, key.index))
    if (hash === undefined) throw new Error(`node ${key.level}:${key.index} not stored`)
    return hash
  }
  return { stored, size, read }
}

const data = Array.from({ length: 300 }, (_, index) => Buffer.from(`entry ${index} ${randomBytes(4).toString('hex')}`))
const refLeaves = data.map(refLeaf)

describe('the ledger log (RFC 6962), against an independent implementation', () => {
  it('computes the same root and inclusion path for every leaf of every size 1…300', () => {
    for (let size = 1; size <= 300; size++) {
      const log = buildLog(data.slice(0, size), size > 3 ? [1, Math.floor(size / 3), size - 1 - Math.floor(size / 3)] : [size])
      const root = refMth(refLeaves.slice(0, size))
      expect(rootOf(size, log.read)).toBe(hex(root))
      for (let index = 0; index < size; index++) {
        const path = inclusionPath(index, size, log.read)
        const expected = refPath(index, refLeaves.slice(0, size))
        if (path.join() !== expected.map(hex).join()) throw new Error(`path of leaf ${index} of ${size} differs`)
        if (!refVerifyInclusion(index, size, refLeaves[index] as Buffer, path.map((item) => Buffer.from(item, 'hex')), root)) throw new Error(`reference verifier refuses ${index}/${size}`)
        if (!verifyInclusion({ leafHash: hex(refLeaves[index] as Buffer), index, size, path, root: hex(root) })) throw new Error(`verifyInclusion refuses ${index}/${size}`)
      }
    }
  })

  it('computes the same consistency proofs for every pair up to 64 and 500 random pairs up to 300, and both verifiers accept them', () => {
    const log = buildLog(data)
    const pairs: [number, number][] = []
    for (let second = 1; second <= 64; second++) for (let first = 1; first <= second; first++) pairs.push([first, second])
    for (let index = 0; index < 500; index++) {
      const second = 1 + Math.floor(Math.random() * 300)
      pairs.push([1 + Math.floor(Math.random() * second), second])
    }
    for (const [first, second] of pairs) {
      const proof = consistencyPath(first, second, log.read)
      const expected = refSubproof(first, refLeaves.slice(0, second), true)
      if (proof.join() !== expected.map(hex).join()) throw new Error(`proof ${first}→${second} differs`)
      const firstRoot = hex(refMth(refLeaves.slice(0, first)))
      const secondRoot = hex(refMth(refLeaves.slice(0, second)))
      if (!verifyConsistency({ first, second, firstRoot, secondRoot, path: proof })) throw new Error(`verifyConsistency refuses ${first}→${second}`)
      if (first < second && verifyConsistency({ first, second, firstRoot: secondRoot, secondRoot: firstRoot, path: proof })) throw new Error(`swapped roots accepted ${first}→${second}`)
    }
  })

  it('refuses a proof with a flipped byte, a wrong index, a wrong size or extra elements', () => {
    const log = buildLog(data.slice(0, 77))
    const root = rootOf(77, log.read)
    const path = inclusionPath(40, 77, log.read)
    const leaf = hex(refLeaves[40] as Buffer)
    expect(verifyInclusion({ leafHash: leaf, index: 40, size: 77, path, root })).toBe(true)
    const flipped = [...path]
    flipped[2] = `${(flipped[2] as string).slice(0, 10)}${(flipped[2] as string)[10] === '0' ? '1' : '0'}${(flipped[2] as string).slice(11)}`
    expect(verifyInclusion({ leafHash: leaf, index: 40, size: 77, path: flipped, root })).toBe(false)
    expect(verifyInclusion({ leafHash: leaf, index: 41, size: 77, path, root })).toBe(false)
    // (Any size from 65 to 128 has the same shape above leaf 40 and passes: the size is bound by the signed head, not the path.)
    expect(verifyInclusion({ leafHash: leaf, index: 40, size: 200, path, root })).toBe(false)
    expect(verifyInclusion({ leafHash: leaf, index: 40, size: 40, path, root })).toBe(false)
    expect(verifyInclusion({ leafHash: leaf, index: 40, size: 77, path: [...path, root], root })).toBe(false)
    // Malformed hex anywhere in a proof is a refusal, never a throw.
    expect(verifyInclusion({ leafHash: leaf, index: 40, size: 77, path: path.map((item, at) => (at === 0 ? `${item.slice(0, 63)}z` : item)), root })).toBe(false)
    expect(verifyInclusion({ leafHash: leaf, index: 40, size: 77, path, root: 'not hex' })).toBe(false)
    expect(verifyConsistency({ first: 40, second: 77, firstRoot: rootOf(40, log.read), secondRoot: root, path: consistencyPath(40, 77, log.read).map((item) => item.toUpperCase().replace('A', 'G')) })).toBe(false)
    const consistency = consistencyPath(30, 77, log.read)
    const first = rootOf(30, log.read)
    expect(verifyConsistency({ first: 30, second: 77, firstRoot: first, secondRoot: root, path: consistency.slice(1) })).toBe(false)
  })

  it('stores only complete subtrees, about two nodes per leaf, and reads O(log² n) of them for a proof', () => {
    const log = buildLog(data)
    expect(log.stored.size).toBeLessThan(2 * 300)
    expect(nodesRead((read) => inclusionPath(150, 300, read)).length).toBeLessThanOrEqual(9 * 9)
    expect(nodesRead((read) => rootOf(300, read))).toEqual(peaksOf(300))
  })
})

describe('signed tree heads (Ed25519)', () => {
  it('signs the canonical bytes, verifies with node:crypto, and refuses another key or a changed field', () => {
    const key = treeSigningKey(randomBytes(32))
    const head = signTreeHead(key, { treeSize: 42, rootHash: 'ab'.repeat(32), signedAt: 1_795_000_000 })
    expect(head).toMatchObject({ algorithm: 'Ed25519-over-canonical-sth', keyId: treeKeyId(key.publicKey) })
    expect(verifyTreeHead(head, key.publicKey)).toBe(true)
    const { publicKey } = generateKeyPairSync('ed25519')
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex')
    expect(verifyTreeHead(head, raw)).toBe(false)
    expect(verifyTreeHead({ ...head, treeSize: 43 }, key.publicKey)).toBe(false)
    expect(verifyTreeHead({ ...head, signedAt: head.signedAt + 1 }, key.publicKey)).toBe(false)
  })

  it('produces the signature node:crypto produces over `sth:<size>:<root>:<signed_at>`', () => {
    const seed = randomBytes(32)
    const key = treeSigningKey(seed)
    const head = signTreeHead(key, { treeSize: 7, rootHash: 'cd'.repeat(32), signedAt: 1_800_000_000 })
    // The seed as node:crypto's own key object: PKCS#8 DER is a fixed prefix and the 32-byte seed.
    const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
    const independent = sign(null, Buffer.from(`sth:7:${'cd'.repeat(32)}:1800000000`), privateKey).toString('hex')
    expect(head.signature).toBe(independent)
    // The same seed is the same key: a restart keeps signing under one key id.
    expect(treeSigningKey(seed).keyId).toBe(key.keyId)
  })
})
