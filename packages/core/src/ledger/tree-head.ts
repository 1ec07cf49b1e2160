import { ed25519Key, ed25519Verify, fromHex, sha256Hex, toHex } from '#crypto'

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
  /** Signs bytes with the private key, which stays inside (a native key object on Node). */
  sign(message: Uint8Array): Uint8Array
}

/** The signing key of a 32-byte Ed25519 seed. */
export function treeSigningKey(seed: Uint8Array): TreeSigningKey {
  const key = ed25519Key(seed)
  return { keyId: treeKeyId(key.publicKey), publicKey: toHex(key.publicKey), sign: key.sign }
}

/** A public key's id: the first 16 hex of SHA-256 of its raw 32 bytes (upstream's `key_id`, the JWKS `kid`). */
export function treeKeyId(rawPublicKey: Uint8Array | string): string {
  return sha256Hex(typeof rawPublicKey === 'string' ? fromHex(rawPublicKey) : rawPublicKey).slice(0, 16)
}

/** The bytes a tree head's signature covers. */
export function treeHeadBytes(head: Pick<TreeHead, 'treeSize' | 'rootHash' | 'signedAt'>): Uint8Array {
  return new TextEncoder().encode(`sth:${head.treeSize}:${head.rootHash}:${head.signedAt}`)
}

export function signTreeHead(key: TreeSigningKey, head: { treeSize: number; rootHash: string; signedAt: number }): TreeHead {
  const signature = toHex(key.sign(treeHeadBytes(head)))
  return { treeSize: head.treeSize, rootHash: head.rootHash, signedAt: head.signedAt, signature, algorithm: STH_ALGORITHM, publicKey: key.publicKey, keyId: key.keyId }
}

/**
 * Whether a tree head is signed by `publicKey` (raw 32 bytes as hex; pin the key you trust,
 * never the one the head carries). Pure: for auditors holding only the public key.
 */
export function verifyTreeHead(head: TreeHead, publicKey: string): boolean {
  if (head.algorithm !== STH_ALGORITHM || !/^[0-9a-f]{128}$/i.test(head.signature) || !/^[0-9a-f]{64}$/i.test(publicKey)) return false
  return ed25519Verify(fromHex(publicKey), treeHeadBytes(head), fromHex(head.signature))
}
