import { gcm } from '@noble/ciphers/aes.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, concatBytes as concat, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { BASE64_TEXT } from './base64-text.ts'
import type { HaldirCrypto } from './haldir-crypto.ts'

// Haldir's cryptography on runtimes without `node:crypto` (`#crypto` resolves here on Bun, Deno,
// edge runtimes, Workers and in browsers): @noble's audited pure-JS primitives, synchronous as
// the engine needs, and Web Crypto's `getRandomValues`. See haldir-crypto.ts for the contract.

type Hmac = ReturnType<typeof hmac.create>
// Keying an HMAC hashes the key twice; a keyed state made once is cloned for every seal.
const keyedStates = new WeakMap<Uint8Array, Hmac>()

export const sha256Hex: HaldirCrypto['sha256Hex'] = (data) => bytesToHex(sha256(typeof data === 'string' ? utf8ToBytes(data) : data))

export const sha256Hasher: HaldirCrypto['sha256Hasher'] = () => {
  const hasher = sha256.create()
  return { update: (text) => void hasher.update(utf8ToBytes(text)), hex: () => bytesToHex(hasher.digest()) }
}

function keyedStateOf(key: Uint8Array): Hmac {
  let keyed = keyedStates.get(key)
  if (!keyed) keyedStates.set(key, (keyed = hmac.create(sha256, key)))
  return keyed
}

export const hmacSha256Hex: HaldirCrypto['hmacSha256Hex'] = (key, first, second) =>
  bytesToHex(keyedStateOf(key).clone().update(utf8ToBytes(first)).update(utf8ToBytes(second)).digest())

const LEAF_PREFIX = new Uint8Array([0])

export const hmacAndLeafHex: HaldirCrypto['hmacAndLeafHex'] = (key, first, second) => {
  const bytes = utf8ToBytes(second)
  return [bytesToHex(keyedStateOf(key).clone().update(utf8ToBytes(first)).update(bytes).digest()), bytesToHex(sha256.create().update(LEAF_PREFIX).update(bytes).digest())]
}

export const hmacSha256: HaldirCrypto['hmacSha256'] = (key, message) => hmac(sha256, key, utf8ToBytes(message))

export const randomBytes: HaldirCrypto['randomBytes'] = (length) => crypto.getRandomValues(new Uint8Array(length))

const TAG_LENGTH = 16

export const aes256GcmSeal: HaldirCrypto['aes256GcmSeal'] = (key, nonce, plaintext, additionalData) => {
  if (key.length !== 32) throw new RangeError('an AES-256 key is 32 bytes')
  const sealed = gcm(key, nonce, additionalData).encrypt(plaintext)
  return { ciphertext: sealed.subarray(0, sealed.length - TAG_LENGTH), tag: sealed.subarray(sealed.length - TAG_LENGTH) }
}

export const aes256GcmOpen: HaldirCrypto['aes256GcmOpen'] = (key, nonce, ciphertext, tag, additionalData) => {
  if (key.length !== 32) throw new RangeError('an AES-256 key is 32 bytes')
  return gcm(key, nonce, additionalData).decrypt(concat(ciphertext, tag))
}

export const ed25519Key: HaldirCrypto['ed25519Key'] = (seed) => {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes')
  const secret = Uint8Array.from(seed)
  return { publicKey: ed25519.getPublicKey(secret), sign: (message) => ed25519.sign(message, secret) }
}

export const ed25519Verify: HaldirCrypto['ed25519Verify'] = (publicKey, message, signature) => {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    // zip215: false is RFC 8032's strict rule, the one OpenSSL (and so node-crypto.ts) applies.
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

export const toHex: HaldirCrypto['toHex'] = (bytes) => bytesToHex(bytes)

export const fromHex: HaldirCrypto['fromHex'] = (hex) => {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new SyntaxError('not hex')
  return hexToBytes(hex)
}

export const toBase64: HaldirCrypto['toBase64'] = (bytes) => {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

export const fromBase64: HaldirCrypto['fromBase64'] = (text) => {
  if (!BASE64_TEXT.test(text)) throw new SyntaxError('not base64')
  const standard = text.replace(/=+$/, '').replaceAll('-', '+').replaceAll('_', '/')
  const binary = atob(standard + '='.repeat((4 - (standard.length % 4)) % 4))
  return Uint8Array.from(binary, (character) => character.charCodeAt(0))
}

export const concatBytes: HaldirCrypto['concatBytes'] = (...parts) => concat(...parts)
