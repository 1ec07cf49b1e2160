import * as selected from '#crypto'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { HaldirCrypto } from './haldir-crypto.ts'
import * as nodeCrypto from './node-crypto.ts'
import * as portableCrypto from './portable-crypto.ts'

const implementations: [string, HaldirCrypto][] = [
  ['node-crypto', nodeCrypto],
  ['portable-crypto', portableCrypto],
]
const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'))
const utf8 = (text: string) => new TextEncoder().encode(text)

// Published test vectors: FIPS 180-2 (SHA-256), RFC 4231 case 2 (HMAC), the GCM specification's
// test case 16 (AES-256 with additional data), RFC 8032 §7.1 TEST 1 and TEST 2 (Ed25519).
const GCM = {
  key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
  nonce: 'cafebabefacedbaddecaf888',
  plaintext: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  additionalData: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
  ciphertext: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
  tag: '76fc6ece0f4e1768cddf8853bb2d551b',
}
const ED25519 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
]

describe.each(implementations)('%s', (_name, crypto) => {
  it('hashes and authenticates as the standards say', () => {
    expect(crypto.sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(crypto.sha256Hex(utf8('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    // Non-ASCII text is hashed as UTF-8.
    expect(crypto.sha256Hex('€')).toBe(crypto.sha256Hex(new Uint8Array([0xe2, 0x82, 0xac])))
    const hasher = crypto.sha256Hasher()
    hasher.update('a')
    hasher.update('bc')
    expect(hasher.hex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    const rfc4231 = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'
    expect(crypto.hmacSha256Hex(utf8('Jefe'), 'what do ya ', 'want for nothing?')).toBe(rfc4231)
    // A cached keyed state must not carry one message into the next.
    expect(crypto.hmacSha256Hex(utf8('Jefe'), 'what do ya ', 'want for nothing?')).toBe(rfc4231)
    expect(crypto.toHex(crypto.hmacSha256(utf8('Jefe'), 'what do ya want for nothing?'))).toBe(rfc4231)
  })

  it('gives the HMAC and the RFC 6962 leaf hash of the second text in one call, each as on its own', () => {
    const key = crypto.randomBytes(32)
    // The leaf of the empty string is SHA-256 of the single byte 0 (RFC 6962).
    expect(crypto.hmacAndLeafHex(key, 'prev', '')[1]).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d')
    for (const [first, second] of [
      ['', ''],
      ['', 'body'],
      ['a'.repeat(64), '{"emoji":"🛡","lone":"\ud800"}'],
      ['prev', 'x'.repeat(20_000)], // past the native implementation's scratch buffer
    ]) {
      const [hmac, leaf] = crypto.hmacAndLeafHex(key, first as string, second as string)
      expect(hmac).toBe(crypto.hmacSha256Hex(key, first as string, second as string))
      expect(leaf).toBe(crypto.sha256Hex(crypto.concatBytes(new Uint8Array([0]), utf8(second as string))))
      // Nothing of the leaf's hash stays behind for the next seal.
      expect(crypto.hmacSha256Hex(key, first as string, second as string)).toBe(hmac)
    }
    expect(crypto.hmacAndLeafHex(utf8('Jefe'), 'what do ya ', 'want for nothing?')[0]).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
  })

  it('seals and opens AES-256-GCM as the specification says, and refuses any change', () => {
    const { ciphertext, tag } = crypto.aes256GcmSeal(hex(GCM.key), hex(GCM.nonce), hex(GCM.plaintext), hex(GCM.additionalData))
    expect(crypto.toHex(ciphertext)).toBe(GCM.ciphertext)
    expect(crypto.toHex(tag)).toBe(GCM.tag)
    expect(crypto.toHex(crypto.aes256GcmOpen(hex(GCM.key), hex(GCM.nonce), ciphertext, tag, hex(GCM.additionalData)))).toBe(GCM.plaintext)
    const flipped = Uint8Array.from(ciphertext)
    flipped[0] = (flipped[0] as number) ^ 1
    expect(() => crypto.aes256GcmOpen(hex(GCM.key), hex(GCM.nonce), flipped, tag, hex(GCM.additionalData))).toThrow()
    expect(() => crypto.aes256GcmOpen(hex(GCM.key), hex(GCM.nonce), ciphertext, tag, utf8('other data'))).toThrow()
  })

  it.each(ED25519)('signs and verifies Ed25519 as RFC 8032 says ($message)', (vector) => {
    const key = crypto.ed25519Key(hex(vector.seed))
    expect(crypto.toHex(key.publicKey)).toBe(vector.publicKey)
    expect(crypto.toHex(key.sign(hex(vector.message)))).toBe(vector.signature)
    expect(crypto.ed25519Verify(hex(vector.publicKey), hex(vector.message), hex(vector.signature))).toBe(true)
    expect(crypto.ed25519Verify(hex(vector.publicKey), utf8('another message'), hex(vector.signature))).toBe(false)
    // Malformed keys and signatures are a refusal, not a throw.
    expect(crypto.ed25519Verify(new Uint8Array(31), hex(vector.message), hex(vector.signature))).toBe(false)
    expect(crypto.ed25519Verify(hex(vector.publicKey), hex(vector.message), new Uint8Array(64))).toBe(false)
  })

  it('reads hex and base64 strictly, the same bytes on every runtime', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, index) => index * 7 + 250)
    expect(Uint8Array.from(crypto.fromHex(crypto.toHex(bytes)))).toEqual(bytes)
    expect(Uint8Array.from(crypto.fromBase64(crypto.toBase64(bytes)))).toEqual(bytes)
    expect(crypto.toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'))
    // URL-safe and unpadded forms of the same bytes.
    expect(Uint8Array.from(crypto.fromBase64(Buffer.from(bytes).toString('base64url')))).toEqual(bytes)
    for (const bad of ['a', 'abc!', 'ab cd', 'ab==cd', 'a+_b']) expect(() => crypto.fromBase64(bad), bad).toThrow()
    for (const bad of ['abc', 'zz', '0x12']) expect(() => crypto.fromHex(bad), bad).toThrow()
    expect(crypto.toHex(crypto.concatBytes(new Uint8Array([1]), new Uint8Array([2, 3])))).toBe('010203')
    const random = crypto.randomBytes(32)
    expect(random).toHaveLength(32)
    expect(crypto.toHex(random)).not.toBe(crypto.toHex(crypto.randomBytes(32)))
  })
})

describe('the two implementations', () => {
  it('read each other: a secret sealed on Node opens elsewhere and the reverse, a head signed on one verifies on the other', () => {
    const key = nodeCrypto.randomBytes(32)
    const nonce = portableCrypto.randomBytes(12)
    const data = utf8('haldir-vault-v2\u0000acme\u0000db_password')
    const fromNode = nodeCrypto.aes256GcmSeal(key, nonce, utf8('pg_secret'), data)
    expect(new TextDecoder().decode(portableCrypto.aes256GcmOpen(key, nonce, fromNode.ciphertext, fromNode.tag, data))).toBe('pg_secret')
    const fromPortable = portableCrypto.aes256GcmSeal(key, nonce, utf8('pg_secret'), data)
    expect(new TextDecoder().decode(nodeCrypto.aes256GcmOpen(key, nonce, fromPortable.ciphertext, fromPortable.tag, data))).toBe('pg_secret')
    const seed = nodeCrypto.randomBytes(32)
    const message = utf8('sth:7:abcd:1800000000')
    expect(portableCrypto.ed25519Verify(nodeCrypto.ed25519Key(seed).publicKey, message, nodeCrypto.ed25519Key(seed).sign(message))).toBe(true)
    expect(nodeCrypto.ed25519Verify(portableCrypto.ed25519Key(seed).publicKey, message, portableCrypto.ed25519Key(seed).sign(message))).toBe(true)
    for (const text of ['', 'x', 'prev\u0000body', '{"details":{"emoji":"🛡"}}']) {
      expect(portableCrypto.hmacSha256Hex(key, text, text)).toBe(nodeCrypto.hmacSha256Hex(key, text, text))
      expect(portableCrypto.sha256Hex(text)).toBe(nodeCrypto.sha256Hex(text))
    }
  })

  it('have the same exports, and #crypto is the native one on Node', () => {
    expectTypeOf(portableCrypto).toEqualTypeOf(nodeCrypto)
    expect(Object.keys(portableCrypto).sort()).toEqual(Object.keys(nodeCrypto).sort())
    expect(selected.sha256Hex).toBe(nodeCrypto.sha256Hex)
  })
})
