/**
 * The cryptography Haldir needs, as synchronous functions. Two modules implement it with the same
 * exports, and `#crypto` (the `imports` map of package.json) picks one by runtime:
 * `node-crypto.ts` on Node (native `node:crypto`: the audit chain's HMAC runs on every governed
 * call), `portable-crypto.ts` everywhere else (@noble's audited pure-JS hashes, ciphers and
 * curves, and Web Crypto's random source). Synchronous, because the engine decides every
 * operation between two awaits (Web Crypto's digests are asynchronous).
 */
export interface HaldirCrypto {
  /** SHA-256 of UTF-8 text or bytes, lowercase hex. */
  sha256Hex(data: string | Uint8Array): string
  /** An incremental SHA-256 over text (bundle manifests hash their entry ids as they stream). */
  sha256Hasher(): Sha256Hasher
  /** HMAC-SHA256 with `key` over `first` then `second` (UTF-8), lowercase hex: the audit chain's seal. */
  hmacSha256Hex(key: Uint8Array, first: string, second: string): string
  /**
   * The two hashes of sealing an entry into a chain and a ledger: the HMAC of `hmacSha256Hex`
   * over `first` then `second`, and the RFC 6962 leaf hash of `second`, SHA-256(0x00 ‖ UTF-8),
   * both lowercase hex. One call, so `second` is encoded once.
   */
  hmacAndLeafHex(key: Uint8Array, first: string, second: string): [hmac: string, leaf: string]
  /** HMAC-SHA256 with `key` over `message` (UTF-8): derives keys. */
  hmacSha256(key: Uint8Array, message: string): Uint8Array
  /** Cryptographically secure random bytes. */
  randomBytes(length: number): Uint8Array
  /** AES-256-GCM with a 96-bit nonce and additional data. */
  aes256GcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, additionalData: Uint8Array): { ciphertext: Uint8Array; tag: Uint8Array }
  /** @throws when the ciphertext, tag, nonce, key or additional data do not match. */
  aes256GcmOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, additionalData: Uint8Array): Uint8Array
  /** The Ed25519 key of a 32-byte seed: its raw public key and a signer. */
  ed25519Key(seed: Uint8Array): Ed25519Key
  /** RFC 8032 verification; `false` for a malformed key or signature. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
  toHex(bytes: Uint8Array): string
  /** @throws on anything but an even number of hex digits. */
  fromHex(hex: string): Uint8Array
  toBase64(bytes: Uint8Array): string
  /** Standard or URL-safe base64, padded or not. @throws on anything else. */
  fromBase64(text: string): Uint8Array
  concatBytes(...parts: Uint8Array[]): Uint8Array
}

export interface Sha256Hasher {
  update(text: string): void
  hex(): string
}

export interface Ed25519Key {
  /** Raw 32 bytes. */
  publicKey: Uint8Array
  sign(message: Uint8Array): Uint8Array
}
