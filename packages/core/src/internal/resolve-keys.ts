import { hmacSha256, randomBytes } from '#crypto'
import { ValidationError } from '../errors/validation-error.ts'
import { parseKey } from '../vault/vault-cipher.ts'
import { keyIdOf } from './key-id.ts'
import { readEnv } from './read-env.ts'

export type KeyInput = string | Uint8Array

export interface ResolvedKeys {
  /** Seals new secrets. */
  masterKey: Uint8Array
  /** Only open secrets sealed before a rotation. */
  previousKeys: Uint8Array[]
  /** Seals new audit entries. */
  auditKey: Uint8Array
  auditKeyId: string
  /** Every audit key that verifies: the active one and those of earlier master or audit keys, by id. */
  auditKeys: ReadonlyMap<string, Uint8Array>
  /** The Ed25519 seed that signs tree heads, then the seeds of earlier ones (published so old heads verify). */
  treeSigningSeeds: Uint8Array[]
  ephemeral: boolean
}

/** The options of a backend that `resolveKeys` reads: one list, so every backend accepts the same key options. */
export const KEY_OPTIONS = ['masterKey', 'previousMasterKeys', 'auditKey', 'previousAuditKeys', 'treeSigningKey', 'previousTreeSigningKeys'] as const

/**
 * Resolves the vault and audit keys of a backend: options first, then `HALDIR_MASTER_KEY`,
 * `HALDIR_PREVIOUS_MASTER_KEYS`, `HALDIR_AUDIT_KEY` and `HALDIR_PREVIOUS_AUDIT_KEYS` (lists
 * separated by commas or whitespace). A durable backend refuses to start without a master key
 * (its secrets would be unreadable after a restart); the memory backend may make an ephemeral one.
 * Without an explicit audit key it is derived from the master key, so one key is enough, and a
 * previous master key brings its derived audit key along: a rotated key still verifies the
 * entries it sealed.
 */
export function resolveKeys(options: {
  masterKey?: KeyInput | undefined
  previousMasterKeys?: readonly KeyInput[] | undefined
  auditKey?: KeyInput | undefined
  previousAuditKeys?: readonly KeyInput[] | undefined
  /** Ed25519 seed (32 bytes) of the tree-head signing key. @default derived from the master key */
  treeSigningKey?: KeyInput | undefined
  previousTreeSigningKeys?: readonly KeyInput[] | undefined
  durable: boolean
  backendName: string
}): ResolvedKeys {
  const masterInput = options.masterKey ?? readEnv('HALDIR_MASTER_KEY')
  const ephemeral = masterInput === undefined || masterInput === ''
  if (ephemeral && options.durable) {
    throw new ValidationError({
      message: `The ${options.backendName} backend needs a master key: pass { masterKey } or set HALDIR_MASTER_KEY (32 bytes, hex or base64)`,
      issues: [{ path: 'masterKey', message: 'required for a durable backend' }],
    })
  }
  const masterKey = ephemeral ? randomBytes(32) : toKey(masterInput as KeyInput, 'masterKey')
  const previousKeys = (options.previousMasterKeys ?? keyList(readEnv('HALDIR_PREVIOUS_MASTER_KEYS'))).map((key, index) => toKey(key, `previousMasterKeys.${index}`))
  const auditInput = options.auditKey ?? readEnv('HALDIR_AUDIT_KEY')
  const explicitAudit = auditInput !== undefined && auditInput !== ''
  const auditKey = explicitAudit ? toKey(auditInput, 'auditKey') : deriveAuditKey(masterKey)
  const earlierAudit = [
    ...(options.previousAuditKeys ?? keyList(readEnv('HALDIR_PREVIOUS_AUDIT_KEYS'))).map((key, index) => toKey(key, `previousAuditKeys.${index}`)),
    // Entries sealed while an earlier master key was active carry its derived audit key.
    ...previousKeys.map(deriveAuditKey),
    // And when an explicit audit key replaces a derived one, the master key's derivation still verifies.
    ...(explicitAudit ? [deriveAuditKey(masterKey)] : []),
  ]
  const auditKeys = new Map<string, Uint8Array>([[keyIdOf(auditKey), auditKey]])
  for (const key of earlierAudit) if (!auditKeys.has(keyIdOf(key))) auditKeys.set(keyIdOf(key), key)
  // Tree heads are signed with a key of their own: given, or derived from the master key, so one
  // key is still enough and a restart keeps the same signing key id.
  const treeInput = options.treeSigningKey ?? readEnv('HALDIR_TREE_SIGNING_KEY')
  const explicitTree = treeInput !== undefined && treeInput !== ''
  const treeSigningSeeds = [
    explicitTree ? toKey(treeInput, 'treeSigningKey') : deriveTreeSeed(masterKey),
    ...(options.previousTreeSigningKeys ?? keyList(readEnv('HALDIR_PREVIOUS_TREE_SIGNING_KEYS'))).map((key, index) => toKey(key, `previousTreeSigningKeys.${index}`)),
    ...previousKeys.map(deriveTreeSeed),
    ...(explicitTree ? [deriveTreeSeed(masterKey)] : []),
  ]
  return { masterKey, previousKeys, auditKey, auditKeyId: keyIdOf(auditKey), auditKeys, treeSigningSeeds, ephemeral }
}

function deriveTreeSeed(masterKey: Uint8Array): Uint8Array {
  return hmacSha256(masterKey, 'haldir tree signing key v1')
}

function deriveAuditKey(masterKey: Uint8Array): Uint8Array {
  return hmacSha256(masterKey, 'haldir audit key v1')
}

function keyList(text: string | undefined): string[] {
  return text === undefined ? [] : text.split(/[\s,]+/).filter(Boolean)
}

function toKey(input: KeyInput, what: string): Uint8Array {
  if (typeof input === 'string') return parseKey(input, what)
  if (!(input instanceof Uint8Array) || input.length !== 32) throw new ValidationError({ issues: [{ path: what, message: 'must be 32 bytes' }] })
  return input
}
