import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'

/** How a tree head is signed (upstream Haldir's name for Ed25519 over the canonical STH bytes). */
export const STH_ALGORITHM = 'Ed25519-over-canonical-sth'

/** A signed tree head: the size and root of a tenant's log at a moment, signed with Ed25519. */
export interface TreeHead {
  treeSize: number
  /** RFC 6962 root, lowercase hex. */
  rootHash: string
  /** Epoch seconds at signing. */
  signedAt: number
  /** Ed25519 signature over `sth:<treeSize>:<rootHash>:<signedAt>`, 128 hex. */
  signature: string
  algorithm: typeof STH_ALGORITHM
  /** The raw 32-byte Ed25519 public key, 64 hex. */
  publicKey: string
  /** First 16 hex of SHA-256(raw public key). */
  keyId: string
}

/** An Ed25519 key that signs tree heads. */
export interface TreeSigningKey {
  keyId: string
  /** Raw 32-byte public key, hex. */
  publicKey: string
  privateKey: KeyObject
}

// PKCS#8 DER of an Ed25519 private key is this prefix followed by the 32-byte seed.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
// SPKI DER of an Ed25519 public key is this prefix followed by the 32 raw bytes.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** The signing key of a 32-byte Ed25519 seed. */
export function treeSigningKey(seed: Uint8Array): TreeSigningKey {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes')
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(seed)]), format: 'der', type: 'pkcs8' })
  const raw = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length)
  return { keyId: treeKeyId(raw), publicKey: Buffer.from(raw).toString('hex'), privateKey }
}

/** A public key's id: the first 16 hex of SHA-256 of its raw 32 bytes (upstream's `key_id`, the JWKS `kid`). */
export function treeKeyId(rawPublicKey: Uint8Array | string): string {
  const raw = typeof rawPublicKey === 'string' ? Buffer.from(rawPublicKey, 'hex') : rawPublicKey
  return createHash('sha256').update(raw).digest('hex').slice(0, 16)
}

/** The bytes a tree head's signature covers. */
export function treeHeadBytes(head: Pick<TreeHead, 'treeSize' | 'rootHash' | 'signedAt'>): Buffer {
  return Buffer.from(`sth:${head.treeSize}:${head.rootHash}:${head.signedAt}`, 'ascii')
}

export function signTreeHead(key: TreeSigningKey, head: { treeSize: number; rootHash: string; signedAt: number }): TreeHead {
  const signature = sign(null, treeHeadBytes(head), key.privateKey).toString('hex')
  return { treeSize: head.treeSize, rootHash: head.rootHash, signedAt: head.signedAt, signature, algorithm: STH_ALGORITHM, publicKey: key.publicKey, keyId: key.keyId }
}

/**
 * Whether a tree head is signed by `publicKey` (raw 32 bytes as hex; pin the key you trust,
 * never the one the head carries). Pure: for auditors holding only the public key.
 */
export function verifyTreeHead(head: TreeHead, publicKey: string): boolean {
  if (head.algorithm !== STH_ALGORITHM || !/^[0-9a-f]{128}$/i.test(head.signature) || !/^[0-9a-f]{64}$/i.test(publicKey)) return false
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(publicKey, 'hex')]), format: 'der', type: 'spki' })
  return verify(null, treeHeadBytes(head), key, Buffer.from(head.signature, 'hex'))
}
