import { verifyAuditChain } from '../audit/verify-audit-chain.ts'
import type { HaldirBackend } from '../backend/haldir-backend.ts'
import { BackendError } from '../errors/backend-error.ts'
import { IntegrityError } from '../errors/integrity-error.ts'
import { NotFoundError } from '../errors/not-found-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import type { ResolvedKeys } from '../internal/resolve-keys.ts'
import { entryLeafHash } from '../ledger/leaf-bytes.ts'
import type { LedgerKey, LedgerProblem } from '../ledger/ledger-types.ts'
import { EMPTY_ROOT } from '../ledger/merkle-hash.ts'
import { appendLeaves, consistencyPath, inclusionPath, nodeKey, type NodeReader, nodesRead, rootOf } from '../ledger/merkle-log.ts'
import { carriesLedger, recomputeBalance } from '../ledger/recompute-balances.ts'
import { signTreeHead, type TreeHead, type TreeSigningKey, treeSigningKey, verifyTreeHead } from '../ledger/tree-head.ts'
import { microsToUsd } from '../money/usd-to-micros.ts'
import type { StateStore } from './state-store.ts'

// Entries sequenced per store call: bounded memory per step, few round trips.
const SEQUENCE_BATCH = 1000
const PAGE = 1000

export type LedgerOperations = Pick<HaldirBackend, 'treeHead' | 'inclusionProof' | 'consistencyProof' | 'treeHeads' | 'ledgerKeys' | 'ledgerPage' | 'verifyLedger'> & {
  /** Signs and records a head for every tenant with entries not yet in its log; resolves to how many. */
  publishTreeHeads(): Promise<number>
  /** A session's balances re-derived from its subtree's ledger marks, compared with its counters; `null` when they agree (or cannot be re-derived). */
  balanceProblem(tenant: string, sessionId: string): Promise<string | null>
}

/** A backend without a ledger: its ledger operations say so, as a typed error; balances are still re-derived. */
export function ledgerOff(): LedgerOperations {
  const off = async (): Promise<never> => {
    throw new BackendError({ message: 'This backend keeps no ledger (created with ledger: false): no tree heads, proofs or exports', status: 501 })
  }
  return {
    treeHead: off,
    inclusionProof: off,
    consistencyProof: off,
    treeHeads: off,
    ledgerKeys: off,
    ledgerPage: off,
    verifyLedger: off,
    publishTreeHeads: async () => 0,
    balanceProblem: async () => null,
  }
}

/**
 * The ledger: per tenant, an append-only RFC 6962 log of every audit entry, kept incrementally
 * (new entries join on demand, in batches: nothing on the path of a governed call), signed tree
 * heads, inclusion and consistency proofs from stored complete subtrees (O(log² n) node reads),
 * and a full check that re-derives leaves, roots and balances from the entries.
 */
export function createLedgerOperations(options: { store: StateStore; keys: ResolvedKeys; now: () => number }): LedgerOperations {
  const { store, keys, now } = options
  const signingKeys: TreeSigningKey[] = []
  for (const seed of keys.treeSigningSeeds) {
    const key = treeSigningKey(seed)
    if (!signingKeys.some((known) => known.keyId === key.keyId)) signingKeys.push(key)
  }
  const active = signingKeys[0] as TreeSigningKey

  /** Brings every entry into the log, batch by batch. */
  async function sequence(tenant: string): Promise<number> {
    for (;;) {
      let added = 0
      const size = await store.extendLog(tenant, SEQUENCE_BATCH, (log) => {
        added = log.pendingCount
        // The leaf was computed when the entry was sealed; an entry stored without one gets it now.
        const leaves: string[] = []
        for (let offset = 0; offset < log.pendingCount; offset++) leaves.push(log.leafHashes[offset] ?? entryLeafHash(log.pendingEntry(offset)))
        return appendLeaves(log.size, log.peaks, leaves)
      })
      if (added < SEQUENCE_BATCH) return size
    }
  }

  /** Runs a tree computation over stored nodes, fetched in one read. */
  async function overTree<T>(tenant: string, compute: (read: NodeReader) => T): Promise<T> {
    const nodes = await store.readLogNodes(tenant, nodesRead(compute))
    return compute((key) => {
      const hash = nodes.get(nodeKey(key.level, key.index))
      if (hash === undefined) throw new IntegrityError({ message: `The ledger of tenant '${tenant}' is missing node ${key.level}:${key.index}`, data: { level: key.level, index: key.index } })
      return hash
    })
  }

  const rootAt = (tenant: string, size: number) => (size === 0 ? Promise.resolve(EMPTY_ROOT) : overTree(tenant, (read) => rootOf(size, read)))
  const sign = (treeSize: number, rootHash: string): TreeHead => signTreeHead(active, { treeSize, rootHash, signedAt: Math.floor(now() / 1000) })

  async function treeHead(tenant: string): Promise<TreeHead> {
    const size = await sequence(tenant)
    const head = sign(size, await rootAt(tenant, size))
    await store.recordTreeHead(tenant, head)
    return head
  }

  async function balanceProblem(tenant: string, sessionId: string): Promise<string | null> {
    const subtree = await store.readSubtree(tenant, sessionId)
    if (!subtree || !subtree.trails.every(carriesLedger)) return null
    const derived = recomputeBalance(subtree.trails.flat())
    if (derived.spentMicros === subtree.spentMicros && derived.reservedMicros === subtree.reservedMicros) return null
    return (
      `session ${sessionId} records $${microsToUsd(subtree.spentMicros)} spent and $${microsToUsd(subtree.reservedMicros)} reserved, ` +
      `but its ledger entries say $${microsToUsd(derived.spentMicros)} spent and $${microsToUsd(derived.reservedMicros)} reserved`
    )
  }

  return {
    treeHead: (request) => treeHead(request.tenant),

    async inclusionProof(request) {
      const current = await sequence(request.tenant)
      const size = request.treeSize ?? current
      if (size > current) throw new ValidationError({ issues: [{ path: 'treeSize', message: `the log has ${current} entries; no proof at ${size}` }] })
      const leafIndex = await store.leafIndexOf(request.tenant, request.entryId)
      if (leafIndex === null || leafIndex >= size) throw new NotFoundError({ resource: 'entry', id: request.entryId, message: `No audit entry '${request.entryId}' in this tenant's log of ${size}` })
      const proof = await overTree(request.tenant, (read) => ({
        leafHash: read({ level: 0, index: leafIndex }),
        auditPath: inclusionPath(leafIndex, size, read),
        rootHash: rootOf(size, read),
      }))
      return { entryId: request.entryId, leafIndex, treeSize: size, ...proof, treeHead: sign(size, proof.rootHash) }
    },

    async consistencyProof(request) {
      const size = await sequence(request.tenant)
      const { first, second } = request
      if (!(first >= 1 && first <= second && second <= size)) {
        throw new ValidationError({ issues: [{ path: 'first', message: `sizes must satisfy 1 ≤ first ≤ second ≤ ${size} (the log's size); got ${first} and ${second}` }] })
      }
      const proof = await overTree(request.tenant, (read) => ({ path: consistencyPath(first, second, read), firstRoot: rootOf(first, read), secondRoot: rootOf(second, read) }))
      return { first, second, ...proof }
    },

    treeHeads: (request) => store.treeHeads(request.tenant, request.sinceSize, request.limit),

    async ledgerKeys(): Promise<LedgerKey[]> {
      return signingKeys.map((key) => ({ keyId: key.keyId, publicKey: key.publicKey, active: key === active }))
    },

    async ledgerPage(request) {
      const treeSize = await sequence(request.tenant)
      const rows = await store.readLogEntries(request.tenant, request.from, request.limit)
      return { treeSize, entries: rows.flatMap((row) => (row.entry ? [{ leafIndex: row.leafIndex, entry: row.entry }] : [])) }
    },

    async verifyLedger(request) {
      const { tenant, earlierHead } = request
      const size = await sequence(tenant)
      const problems: LedgerProblem[] = []
      // Every leaf re-derived from its entry, and the log rebuilt from those alone.
      const derivedLeaves: string[] = []
      for (let from = 0; from < size; from += PAGE) {
        const rows = await store.readLogEntries(tenant, from, Math.min(PAGE, size - from))
        const stored = await store.readLogNodes(tenant, rows.map((row) => ({ level: 0, index: row.leafIndex })))
        for (const row of rows) {
          if (!row.entry) {
            problems.push({ kind: 'missing_entry', leafIndex: row.leafIndex, message: `leaf ${row.leafIndex} has no entry: it was deleted` })
            derivedLeaves.push(stored.get(nodeKey(0, row.leafIndex)) ?? EMPTY_ROOT)
            continue
          }
          const leaf = entryLeafHash(row.entry)
          derivedLeaves.push(leaf)
          if (stored.get(nodeKey(0, row.leafIndex)) !== leaf) problems.push({ kind: 'leaf_mismatch', leafIndex: row.leafIndex, message: `entry ${row.entry.id} (leaf ${row.leafIndex}) was altered after it joined the log` })
        }
      }
      const rebuilt = new Map<string, string>()
      for (const node of appendLeaves(0, [], derivedLeaves).nodes) rebuilt.set(nodeKey(node.level, node.index), node.hash)
      const readRebuilt: NodeReader = (key) => rebuilt.get(nodeKey(key.level, key.index)) as string
      const rootHash = size === 0 ? EMPTY_ROOT : rootOf(size, readRebuilt)
      if (size > 0 && (await rootAt(tenant, size)) !== rootHash) problems.push({ kind: 'root_mismatch', message: 'the stored log does not hash to the root of its entries' })
      if (earlierHead) {
        const known = signingKeys.find((key) => key.keyId === earlierHead.keyId)
        if (!known || !verifyTreeHead(earlierHead, known.publicKey)) {
          problems.push({ kind: 'inconsistent_with_earlier_head', message: `the earlier head is not signed by a key of this ledger (${earlierHead.keyId})` })
        } else if (earlierHead.treeSize > size) {
          problems.push({ kind: 'inconsistent_with_earlier_head', message: `the log has ${size} entries but an earlier head signed ${earlierHead.treeSize}: entries were removed` })
        } else if (earlierHead.treeSize > 0 && rootOf(earlierHead.treeSize, readRebuilt) !== earlierHead.rootHash) {
          problems.push({ kind: 'inconsistent_with_earlier_head', message: `the first ${earlierHead.treeSize} entries no longer hash to the earlier head's root: the log was rewritten` })
        }
      }
      // Every session: its chain, and its balances re-derived from the ledger marks.
      const sessionIds = await store.sessionIds(tenant)
      for (const sessionId of sessionIds) {
        const trail = await store.readTrail(tenant, sessionId)
        if (trail) {
          const chain = verifyAuditChain({ auditKeys: keys.auditKeys, sessionId, entries: trail.entries, head: trail.head })
          if (!chain.ok) problems.push({ kind: 'leaf_mismatch', sessionId, message: `session ${sessionId}: ${chain.message}` })
        }
        const balance = await balanceProblem(tenant, sessionId)
        if (balance) problems.push({ kind: 'balance_mismatch', sessionId, message: balance })
      }
      return problems.length === 0 ? { ok: true, treeSize: size, rootHash, sessions: sessionIds.length } : { ok: false, treeSize: size, problems }
    },

    async publishTreeHeads() {
      const tenants = await store.tenantsWithPendingEntries()
      for (const tenant of tenants) await treeHead(tenant)
      return tenants.length
    },

    balanceProblem,
  }
}
