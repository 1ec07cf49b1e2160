import { EMPTY_ROOT, nodeHash, splitPoint } from './merkle-hash.ts'

/**
 * A node of the log: the root of the complete subtree of 2^level leaves starting at leaf
 * `index × 2^level`. Level 0 nodes are the leaf hashes. Only complete subtrees are ever stored,
 * and they never change once complete: the log only grows.
 */
export interface NodeKey {
  level: number
  index: number
}

export const nodeKey = (level: number, index: number): string => `${level}:${index}`

/** Reads stored nodes by key; a missing node is a fault of the store. */
export type NodeReader = (key: NodeKey) => string

/**
 * The complete subtrees whose roots, combined right to left, give the root of a tree of `size`
 * leaves: one per set bit of `size`, largest first (the log's "peaks").
 */
export function peaksOf(size: number): NodeKey[] {
  const peaks: NodeKey[] = []
  let start = 0
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level
    if (size - start >= width) {
      peaks.push({ level, index: start / width })
      start += width
    }
  }
  return peaks
}

/**
 * Appends leaves to a log of `size` leaves whose peaks are given (in `peaksOf(size)` order), and
 * returns every node that becomes complete (leaves included) and the new size: amortised two
 * hashes per leaf, the nodes to store for O(log n) proofs later.
 */
/** A stored node: its key and its hash. */
export interface LogNode extends NodeKey {
  hash: string
}

export function appendLeaves(size: number, peaks: readonly string[], leafHashes: readonly string[]): { nodes: LogNode[]; size: number } {
  const nodes: LogNode[] = []
  // The right edge: the peaks, largest first. Flat records, one per node: this runs for every entry.
  const stack: LogNode[] = peaksOf(size).map((key, position) => ({ level: key.level, index: key.index, hash: peaks[position] as string }))
  let next = size
  for (let position = 0; position < leafHashes.length; position++) {
    let current: LogNode = { level: 0, index: next, hash: leafHashes[position] as string }
    nodes.push(current)
    // Two neighbouring complete subtrees of the same size merge into one twice as large.
    while (stack.length > 0 && (stack[stack.length - 1] as LogNode).level === current.level) {
      const left = stack.pop() as LogNode
      current = { level: left.level + 1, index: left.index / 2, hash: nodeHash(left.hash, current.hash) }
      nodes.push(current)
    }
    stack.push(current)
    next++
  }
  return { nodes, size: next }
}

/** MTH(D[start : start + width]) for a range the RFC 6962 recursion produces, from stored complete subtrees. */
function rangeHash(start: number, width: number, read: NodeReader): string {
  if (width === 0) return EMPTY_ROOT
  let level = 0
  while (2 ** (level + 1) <= width) level++
  if (2 ** level === width && start % width === 0) return read({ level, index: start / width })
  const k = splitPoint(width)
  return nodeHash(rangeHash(start, k, read), rangeHash(start + k, width - k, read))
}

/** The root hash of the first `size` leaves of the log. */
export function rootOf(size: number, read: NodeReader): string {
  return rangeHash(0, size, read)
}

/**
 * RFC 6962 §2.1.1 PATH(m, D[0:n]): the audit path of leaf `index` in the tree of `size` leaves,
 * bottom-up (the leaf's sibling first), as upstream Haldir's and RFC 9162's verifiers expect.
 */
export function inclusionPath(index: number, size: number, read: NodeReader): string[] {
  if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size}`)
  const path: string[] = []
  const walk = (m: number, start: number, width: number) => {
    if (width <= 1) return
    const k = splitPoint(width)
    if (m < k) {
      walk(m, start, k)
      path.push(rangeHash(start + k, width - k, read))
    } else {
      walk(m - k, start + k, width - k)
      path.push(rangeHash(start, k, read))
    }
  }
  walk(index, 0, size)
  return path
}

/** RFC 6962 §2.1.2 PROOF(m, D[0:n]): that the first `first` leaves are a prefix of the first `second`, in generation order. */
export function consistencyPath(first: number, second: number, read: NodeReader): string[] {
  if (!Number.isInteger(first) || !Number.isInteger(second) || first < 1 || first > second) throw new RangeError(`no consistency proof from ${first} to ${second}`)
  const proof: string[] = []
  const subproof = (m: number, start: number, width: number, whole: boolean) => {
    if (m === width) {
      if (!whole) proof.push(rangeHash(start, width, read))
      return
    }
    const k = splitPoint(width)
    if (m <= k) {
      subproof(m, start, k, whole)
      proof.push(rangeHash(start + k, width - k, read))
    } else {
      subproof(m - k, start + k, width - k, false)
      proof.push(rangeHash(start, k, read))
    }
  }
  subproof(first, 0, second, true)
  return proof
}

/**
 * The node keys a computation will read, found by running it against a reader that records:
 * stores fetch them in one round trip, then run it again for real. The algorithms above never
 * branch on a hash, so both runs read the same nodes.
 */
export function nodesRead(compute: (read: NodeReader) => unknown): NodeKey[] {
  const seen = new Map<string, NodeKey>()
  compute((key) => {
    seen.set(nodeKey(key.level, key.index), key)
    return EMPTY_ROOT
  })
  return [...seen.values()]
}
