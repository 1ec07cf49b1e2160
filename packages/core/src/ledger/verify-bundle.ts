import { sha256Hasher } from '#crypto'
import type { BundleEntry, BundleManifest } from './export-bundle.ts'
import { entryLeafHash } from './leaf-bytes.ts'
import { appendLeaves, nodeKey, rootOf } from './merkle-log.ts'
import { type TreeHead, verifyTreeHead } from './tree-head.ts'
import { verifyConsistency, verifyInclusion } from './verify-merkle.ts'

export interface BundleVerification {
  ok: boolean
  count: number
  treeSize: number
  problems: string[]
}

/**
 * Checks a JSONL bundle offline, with the ledger's public key alone (no server, no HMAC key):
 * the head is signed by one of `publicKeys`; every entry's leaf, recomputed from the entry, is in
 * the head's tree (a tenant bundle rebuilds the whole tree; a session bundle checks each audit
 * path); the ids match the manifest; a session's entries link into one unbroken chain; and, given
 * an earlier head the verifier kept, the log only grew since (a cut tail or a deleted trail shows
 * as a log that no longer contains it).
 */
export function verifyBundle(text: string, options: { publicKeys: readonly string[]; earlierHead?: TreeHead }): BundleVerification {
  const problems: string[] = []
  const lines = text.split('\n').filter((line) => line.trim() !== '')
  let manifest: BundleManifest | undefined
  const entries: BundleEntry[] = []
  for (const [index, line] of lines.entries()) {
    let record: BundleEntry | BundleManifest
    try {
      record = JSON.parse(line) as BundleEntry | BundleManifest
    } catch {
      problems.push(`line ${index + 1} is not JSON`)
      continue
    }
    if (record.type === 'manifest') {
      if (index !== lines.length - 1) problems.push('the manifest is not the last line')
      manifest = record
    } else if (record.type === 'entry') entries.push(record)
    else problems.push(`line ${index + 1} is neither an entry nor the manifest`)
  }
  if (!manifest) return { ok: false, count: entries.length, treeSize: 0, problems: [...problems, 'no manifest: the bundle is cut short'] }
  const head = manifest.treeHead
  const result = (): BundleVerification => ({ ok: problems.length === 0, count: entries.length, treeSize: head.treeSize, problems })

  const signer = options.publicKeys.find((key) => verifyTreeHead(head, key))
  if (!signer) problems.push(`the tree head of size ${head.treeSize} is not signed by any of the given public keys`)
  const ids = sha256Hasher()
  for (const { entry } of entries) ids.update(`${entry.id}\n`)
  if (ids.hex() !== manifest.sha256 || entries.length !== manifest.count) problems.push('the entries do not match the manifest (ids or count): lines were added, removed or reordered')

  let earlierRootOf: ((size: number) => string) | null = null
  if (manifest.scope.kind === 'tenant') {
    const leaves = entries.map((line, index) => {
      if (line.leafIndex !== index) problems.push(`entry ${line.entry.id} claims leaf ${line.leafIndex} but is line ${index + 1} of the log`)
      return entryLeafHash(line.entry)
    })
    if (leaves.length !== head.treeSize) problems.push(`the head covers ${head.treeSize} leaves but the bundle holds ${leaves.length}`)
    const nodes = new Map<string, string>()
    for (const node of appendLeaves(0, [], leaves).nodes) nodes.set(nodeKey(node.level, node.index), node.hash)
    const read = (key: { level: number; index: number }) => nodes.get(nodeKey(key.level, key.index)) as string
    if (leaves.length === head.treeSize && head.treeSize > 0 && rootOf(head.treeSize, read) !== head.rootHash) problems.push('the entries do not hash to the signed root: an entry was altered')
    earlierRootOf = (size) => rootOf(size, read)
  } else {
    for (const line of entries) {
      const proof = { leafHash: entryLeafHash(line.entry), index: line.leafIndex, size: head.treeSize, path: line.auditPath ?? [], root: head.rootHash }
      if (!verifyInclusion(proof)) problems.push(`entry ${line.entry.id} (leaf ${line.leafIndex}) is not in the signed tree: it was altered`)
    }
    // Without the key the HMACs cannot be checked, but the links can: each entry names the one before.
    const ordered = [...entries].sort((a, b) => a.entry.seq - b.entry.seq)
    for (let index = 1; index < ordered.length; index++) {
      const previous = (ordered[index - 1] as BundleEntry).entry
      const current = (ordered[index] as BundleEntry).entry
      if (current.seq !== previous.seq + 1 || current.prevHash !== previous.hash) problems.push(`the session's chain breaks between seq ${previous.seq} and seq ${current.seq}`)
    }
  }

  const earlier = options.earlierHead
  if (earlier) {
    if (!options.publicKeys.some((key) => verifyTreeHead(earlier, key))) problems.push('the earlier head is not signed by any of the given public keys')
    else if (earlier.treeSize > head.treeSize) problems.push(`the log shrank: an earlier head signed ${earlier.treeSize} entries, this bundle's head ${head.treeSize}`)
    else if (earlierRootOf) {
      if (earlier.treeSize > 0 && earlierRootOf(earlier.treeSize) !== earlier.rootHash) problems.push(`the first ${earlier.treeSize} entries no longer match the earlier head: the log was rewritten`)
    } else {
      const proof = manifest.consistency
      if (!proof || proof.first !== earlier.treeSize) problems.push(`the bundle carries no consistency proof from size ${earlier.treeSize} (export it with earlierSize = ${earlier.treeSize})`)
      else if (!verifyConsistency({ first: earlier.treeSize, second: head.treeSize, firstRoot: earlier.rootHash, secondRoot: head.rootHash, path: proof.path })) {
        problems.push(`the log of ${head.treeSize} entries does not extend the earlier head of ${earlier.treeSize}: entries were removed or rewritten`)
      }
    }
  }
  return result()
}
